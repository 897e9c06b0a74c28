/**
 * Starting Tandem JVMs as child processes of a command that orchestrates them ({@code chaos}, {@code bench-pd}):
 * {@link dev.tandem.launch.ChildJvm} builds the command line from this JVM's own flags and class path (so a test and
 * {@code ./run.sh} start the same code), optionally behind a prefix such as {@code taskset -c 0,1}, appends its output
 * to a log, and stops it by pid (SIGTERM, then SIGKILL past a grace period). {@link dev.tandem.launch.ChildGroup}
 * owns a set of them and stops them all on close, on error and on Ctrl-C (a shutdown hook). One parent's children
 * join a Hazelcast cluster of their own ({@code $TANDEM_CLUSTER_NAME}, unless set). {@link dev.tandem.launch.FreePorts}
 * picks the ports they will bind, below the kernel's ephemeral range. Nothing of the worker or gateway is linked in:
 * children are driven through their HTTP APIs and signals only.
 */
package dev.tandem.launch;
