package dev.tandem.kvevents;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * SGLang's ZMQ publisher (§8.5): a PUB socket sending {@code [topic, seq (8-byte big-endian), msgpack]}, sequence
 * numbers from 0, a bounded queue (publish blocks when full) drained by one sender thread, a ring of the last
 * {@code buffer_steps} batches, and an optional ROUTER replay socket that answers {@code [id, "", start_seq]} with
 * every buffered batch from that seq and the end marker seq -1. Bind or connect follows SGLang's rule; endpoints
 * are offset by the DP rank.
 */
public final class ZmqEventPublisher implements EventPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(ZmqEventPublisher.class);
    private static final byte[] END = ByteBuffer.allocate(8).putLong(-1L).array();

    private final KvEventsConfig cfg;
    private final int rank;
    private final BlockingQueue<KvEventBatch> queue;
    private final ArrayDeque<long[]> ringSeqs = new ArrayDeque<>();
    private final ArrayDeque<byte[]> ringPayloads = new ArrayDeque<>();
    private final ZContext context = new ZContext();
    private ZMQ.Socket pub;      // owned by the sender thread, like every ZMQ socket here
    private ZMQ.Socket replay;
    private final Thread sender;
    private volatile boolean closed;
    private volatile long dropOnClose = Long.MAX_VALUE;
    private long seq;

    public ZmqEventPublisher(KvEventsConfig cfg, int attnDpRank) {
        this.cfg = cfg;
        this.rank = attnDpRank;
        this.queue = new ArrayBlockingQueue<>(Math.max(1, cfg.maxQueueSize()));
        java.util.concurrent.CompletableFuture<Void> ready = new java.util.concurrent.CompletableFuture<>();
        sender = Thread.ofPlatform().daemon().name("tandem-kv-events").start(() -> {
            try {
                openSockets();
                ready.complete(null);
            } catch (RuntimeException e) {
                ready.completeExceptionally(e);
                return;
            }
            run();
        });
        try {
            ready.join();
        } catch (java.util.concurrent.CompletionException e) {
            context.close();
            throw new IllegalArgumentException("KV event publisher: cannot open " + cfg.endpoint() + ": "
                    + e.getCause().getMessage(), e.getCause());
        }
    }

    private void openSockets() {
        pub = context.createSocket(SocketType.PUB);
        pub.setSndHWM(cfg.hwm());
        pub.setRcvHWM(cfg.hwm());
        String endpoint = KvEventsConfig.offsetEndpoint(cfg.endpoint(), rank);
        if (binds(endpoint)) {
            pub.bind(endpoint);
        } else {
            pub.connect(endpoint);
        }
        if (cfg.replayEndpoint() != null) {
            replay = context.createSocket(SocketType.ROUTER);
            replay.bind(KvEventsConfig.offsetEndpoint(cfg.replayEndpoint(), rank));
        }
    }

    /** SGLang's rule: bind for wildcard, IPv6 any, ipc and inproc endpoints; connect otherwise. */
    static boolean binds(String endpoint) {
        return endpoint.contains("*") || endpoint.contains("::") || endpoint.startsWith("ipc://")
                || endpoint.startsWith("inproc://");
    }

    @Override
    public void publish(KvEventBatch batch) {
        if (closed) {
            throw new IllegalStateException("the KV event publisher is closed");
        }
        KvEventBatch b = batch.attnDpRank() == null ? new KvEventBatch(batch.ts(), batch.events(), rank) : batch;
        try {
            queue.put(b);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (true) {
            try {
                serveReplay();
            } catch (RuntimeException e) {
                LOG.warn("serving a replay request failed", e);
            }
            if (closed && System.nanoTime() > dropOnClose) {
                return;
            }
            KvEventBatch b;
            try {
                b = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (b == null) {
                if (closed) {
                    return;
                }
                continue;
            }
            byte[] payload = KvEventCodec.encode(b, cfg.wireFormat());
            long s = seq++;
            try {
                pub.sendMore(cfg.topic().getBytes(StandardCharsets.UTF_8));
                pub.sendMore(ByteBuffer.allocate(8).putLong(s).array());
                pub.send(payload);
            } catch (RuntimeException e) {
                LOG.warn("sending KV events failed", e);
            }
            ringSeqs.addLast(new long[] {s});
            ringPayloads.addLast(payload);
            while (ringSeqs.size() > cfg.bufferSteps()) {
                ringSeqs.removeFirst();
                ringPayloads.removeFirst();
            }
        }
    }

    private void serveReplay() {
        if (replay == null) {
            return;
        }
        ZMsg req = ZMsg.recvMsg(replay, ZMQ.DONTWAIT);
        if (req == null) {
            return;
        }
        if (req.size() != 3) {
            LOG.warn("replay request with {} frames ignored (expected identity, empty, start seq)", req.size());
            req.destroy();
            return;
        }
        byte[] id = req.pop().getData();
        req.pop();
        long start = ByteBuffer.wrap(req.pop().getData()).getLong();
        var seqs = ringSeqs.iterator();
        var payloads = ringPayloads.iterator();
        while (seqs.hasNext()) {
            long s = seqs.next()[0];
            byte[] p = payloads.next();
            if (Long.compareUnsigned(s, start) >= 0) {
                replay.sendMore(id);
                replay.sendMore(new byte[0]);
                replay.sendMore(ByteBuffer.allocate(8).putLong(s).array());
                replay.send(p);
            }
        }
        replay.sendMore(id);
        replay.sendMore(new byte[0]);
        replay.sendMore(END);
        replay.send(new byte[0]);
    }

    /** Waits up to a second for the queue to drain, then stops the thread and closes the sockets (linger 0). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // No Thread.interrupt(): an interrupt closes the NIO channels jeromq's signalling runs on. The sender
        // notices the flag within 100 ms once the queue is empty; a queue that does not drain in a second is
        // abandoned (dropOnClose) rather than blocking shutdown.
        dropOnClose = System.nanoTime() + 1_000_000_000L;
        try {
            sender.join(1500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        context.setLinger(0);
        context.close();
    }
}
