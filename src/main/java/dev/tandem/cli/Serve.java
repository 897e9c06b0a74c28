package dev.tandem.cli;

import io.vertx.core.Deployable;
import io.vertx.core.Vertx;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/**
 * How a long-running subcommand lives: deploy its verticles in order, run until the JVM is asked to stop (Ctrl-C,
 * SIGTERM), then close Vert.x, which undeploys everything and frees what the verticles own.
 */
final class Serve {
    private Serve() {
    }

    /**
     * Deploys {@code verticles} one after another, runs {@code onReady}, and blocks until shutdown. Returns 1 (after
     * printing why) when a deployment fails.
     */
    static int until(Vertx vertx, String what, List<Supplier<Deployable>> verticles, Runnable onReady)
            throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            vertx.close().toCompletionStage().toCompletableFuture().join();
            stopped.countDown();
        }, "tandem-shutdown"));
        try {
            for (Supplier<Deployable> v : verticles) {
                vertx.deployVerticle(v.get()).await();
            }
            onReady.run();
        } catch (Exception e) {
            System.err.println("error: " + what + " failed to start: " + e.getMessage());
            vertx.close();
            return 1;
        }
        stopped.await();
        return 0;
    }
}
