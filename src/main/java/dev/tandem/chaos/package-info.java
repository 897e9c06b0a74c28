/**
 * The chaos soak ({@code ./run.sh chaos --minutes N}): starts a gateway, two prefill and two decode workers as
 * separate JVMs on loopback, plus a colocated worker that computes the reference outputs; drives load through the
 * gateway while killing ({@code SIGKILL}), stopping ({@code SIGSTOP}/{@code SIGCONT}) and gracefully restarting
 * workers at random; then reports requests sent, answered with tokens, answered with a clear error, lost, pages leaked
 * and whether outputs after the chaos equal the reference. Talks to the processes only through their HTTP APIs and
 * POSIX signals, as an operator's tooling would: nothing of the worker or gateway is linked in.
 */
package dev.tandem.chaos;
