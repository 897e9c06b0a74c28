package dev.tandem.worker;

import dev.tandem.bus.BusAddresses;
import dev.tandem.bus.BusSigner;
import dev.tandem.metrics.Meters;
import dev.tandem.metrics.MetricsSetup;
import io.micrometer.core.instrument.Counter;
import dev.tandem.config.SchedulerConfig;
import dev.tandem.config.WorkerConfig;
import dev.tandem.engine.model.Model;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.scheduler.DecodeScheduler;
import dev.tandem.scheduler.PrefillScheduler;
import dev.tandem.scheduler.Scheduler;
import dev.tandem.scheduler.SchedulerObserver;
import dev.tandem.tokenizer.TextTokenizer;
import dev.tandem.transfer.AuxBuffers;
import dev.tandem.transfer.KvLayout;
import dev.tandem.transfer.KvReceiverManager;
import dev.tandem.transfer.KvSenderManager;
import dev.tandem.transfer.Messages;
import dev.tandem.transfer.TransferEngines;
import dev.tandem.transfer.SegmentDescriptor;
import dev.tandem.kvcache.ShmFile;
import dev.tandem.kvcache.KvMemory;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Builds what a prefill or decode worker adds to the colocated one: the transfer engine, aux buffers, sender or
 * receiver manager, the event-bus adapter, and the mode's scheduler. Owns all of it ({@link #close()}, in reverse
 * order of creation).
 */
final class PdWiring implements AutoCloseable {
    private final List<AutoCloseable> owned = new ArrayList<>();
    private Scheduler scheduler;
    private PagedKvCache kv;
    private dev.tandem.hicache.HiCache hiCache; // prefill workers with --enable-hierarchical-cache, else null

    static PdWiring build(WorkerConfig cfg, Vertx vertx, Model model, TextTokenizer tok, SchedulerConfig sc,
                          SchedulerObserver observer, Consumer<String> progress) {
        PdWiring w = new PdWiring();
        try {
            w.wire(cfg, vertx, model, tok, sc, observer, progress);
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T t) {
        owned.add(t);
        return t;
    }

    private void wire(WorkerConfig cfg, Vertx vertx, Model model, TextTokenizer tok, SchedulerConfig sc,
                      SchedulerObserver observer, Consumer<String> progress) {
        WorkerConfig.PdConfig pd = cfg.pd();
        String id = cfg.workerId();
        boolean decode = cfg.mode().equals("decode");
        // The engine first: the pool may live in memory it provides (nixl), and closes before it (reverse order).
        var engine = own(TransferEngines.create(pd.transferBackend(), pd.transferTransport(), pd.nixlMode(),
                cfg.host(), cfg.advertisedHost(), cfg.security().secret(), r -> Counter.builder(
                        Meters.TCP_PEERS_REJECTED)
                        .description("TCP KV-writer connections dropped before or while writing, by reason")
                        .tag("reason", r.tag()).register(MetricsSetup.registry()).increment(),
                java.time.Duration.ofMillis((long) (pd.transferIoTimeoutS() * 1000))));
        KvMemory engineMemory = engine.kvMemory();
        // The decode worker's pool is written by prefill workers: on this host through /dev/shm (mooncake), or in
        // memory the backend allocated (nixl: UCX's, which its shared-memory transports reach with a plain copy).
        KvMemory kvMemory = engineMemory != null ? engineMemory
                : decode ? KvMemory.shmFile(ShmFile.fresh(id, "kv")) : KvMemory.NATIVE;
        kv = own(model.newKvCache(kvMemory, sc.pageSize(), sc.maxTotalTokens(), sc.maxRunningRequests(),
                sc.contextLength(), cfg.engine().kvCacheDtype()));
        int auxSlots = sc.maxRunningRequests();
        // What this worker's pages hold: a peer that differs is refused at registration, not discovered as garbage.
        var format = new dev.tandem.transfer.KvFormat(kv.pool().dtype().label(),
                cfg.engine().quantization().name().toLowerCase(java.util.Locale.ROOT), sc.pageSize());
        KvMemory.Block auxFile = own((engineMemory != null ? engineMemory
                : KvMemory.shmFile(ShmFile.fresh(id, "aux"))).allocate(AuxBuffers.bytesFor(auxSlots)));
        AuxBuffers aux = new AuxBuffers(auxFile.segment(), auxSlots);
        PdBusAdapter bus = new PdBusAdapter(vertx,
                new BusSigner(cfg.security().secret(), MetricsSetup.registry()));
        if (decode) {
            SegmentDescriptor kvDesc = engine.register("kv", kv.pool().segment(), kv.pool().file());
            SegmentDescriptor auxDesc = engine.register("aux", aux.segment(), auxFile.file());
            var reg = new Messages.KvArgsRegistration(id, kvDesc,
                    new KvLayout(kv.pool().numLayers(), kv.pool().regionOffset(1, false), kv.pool().pageBytes()),
                    auxDesc, auxSlots, 0, 1, java.util.UUID.randomUUID().toString(), format);
            var receivers = new KvReceiverManager(reg, bus, (long) (pd.waitingTimeoutS() * 1e9), pd.failureProb(),
                    System::nanoTime, (long) (pd.transferIoTimeoutS() * 1e9));
            // nixl: the peer's notifications say when a room's KV and aux row all landed (others report over the bus)
            engine.onDelivered(room -> receivers.onStatus(new Messages.TransferStatus(room,
                    dev.tandem.transfer.KvPoll.SUCCESS, 0, null)));
            bus.serveTransferStatus(id, receivers, (long) (pd.heartbeatIntervalS() * 1000), pd.heartbeatMaxFailures());
            own(bus);
            dev.tandem.hicache.HiCache offload = dev.tandem.hicache.HiCache.create(cfg.hiCache(), cfg.kvIdentity(),
                    kv.pool(), () -> ClusterPageMap.of(vertx, cfg.hiCache()));
            hiCache = offload;
            if (offload != null) {
                own(offload); // closed before the pool it copies from
                progress.accept("decode offload to storage: " + offload.describe());
            }
            scheduler = new DecodeScheduler(model.transformer(), kv, tok, model.config().eosTokenIds(), sc, receivers,
                    aux, pd.numReservedDecodeTokens(), pd.bootstrapPort(), observer, offload);
            progress.accept("decode worker " + id + ": KV pool in " + (kv.pool().file() != null ? kv.pool().file()
                    : "memory the " + pd.transferBackend() + " backend allocated") + ", transfer status on "
                    + BusAddresses.transfer(id));
        } else {
            var senders = own(new KvSenderManager(engine, kv.pool(), aux, bus, (long) (pd.bootstrapTimeoutS() * 1e9),
                    pd.failureProb(), 2, observer instanceof dev.tandem.transfer.TransferObserver t ? t
                            : dev.tandem.transfer.TransferObserver.NONE, System::nanoTime, bus));
            senders.expectFormat(format);
            String hostPort = cfg.advertisedHost() + ":" + pd.bootstrapPort();
            bus.serveBootstrap(hostPort, senders);
            own(bus);
            dev.tandem.hicache.HiCache hi = dev.tandem.hicache.HiCache.create(cfg.hiCache(), cfg.kvIdentity(),
                    kv.pool(), () -> ClusterPageMap.of(vertx, cfg.hiCache()));
            hiCache = hi;
            if (hi != null) {
                own(hi); // closed before the pool it copies from
                progress.accept("hierarchical cache: " + hi.describe());
            }
            scheduler = new PrefillScheduler(model.transformer(), kv, tok, model.config().eosTokenIds(), sc, senders,
                    aux, observer, hi);
            progress.accept("prefill worker " + id + ": bootstrap on " + BusAddresses.bootstrap(hostPort)
                    + ", transfer transport " + pd.transferTransport());
        }
    }

    Scheduler scheduler() {
        return scheduler;
    }

    PagedKvCache kv() {
        return kv;
    }

    /** The prefill worker's hierarchical cache, or null. */
    dev.tandem.hicache.HiCache hiCache() {
        return hiCache;
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception ignored) {
                // keep closing the rest
            }
        }
        owned.clear();
    }
}
