package dev.tandem.worker;

import com.hazelcast.config.EvictionConfig;
import com.hazelcast.config.EvictionPolicy;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MaxSizePolicy;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.tandem.config.HiCacheConfig;
import dev.tandem.hicache.PageMap;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * The {@code cluster} storage backend's map: a Hazelcast {@code IMap} on the cluster this worker's Vert.x joined,
 * with {@code --hicache-storage-backup-count} backups and a per-member LRU bound of
 * {@code --hicache-storage-max-size} of heap. Every member that uses it must configure it alike (Hazelcast refuses
 * a conflicting definition).
 */
final class ClusterPageMap implements PageMap {
    static final String NAME = "tandem.hicache.pages";
    private final IMap<String, byte[]> map;

    private ClusterPageMap(IMap<String, byte[]> map) {
        this.map = map;
    }

    static ClusterPageMap of(Vertx vertx, HiCacheConfig cfg) {
        if (!(vertx instanceof VertxInternal vi) || !(vi.clusterManager() instanceof HazelcastClusterManager hcm)) {
            throw new IllegalStateException("hicache_storage_backend cluster needs a worker clustered through "
                    + "Hazelcast (--cluster)");
        }
        HazelcastInstance hz = hcm.getHazelcastInstance();
        int mb = (int) Math.max(1, Math.min(Integer.MAX_VALUE, cfg.storageMaxGb() * 1000));
        hz.getConfig().addMapConfig(new MapConfig(NAME).setBackupCount(cfg.backupCount())
                .setEvictionConfig(new EvictionConfig().setEvictionPolicy(EvictionPolicy.LRU)
                        .setMaxSizePolicy(MaxSizePolicy.USED_HEAP_SIZE).setSize(mb)));
        return new ClusterPageMap(hz.getMap(NAME));
    }

    @Override
    public byte[] get(String key) {
        return map.get(key);
    }

    @Override
    public void set(String key, byte[] value) {
        map.set(key, value);
    }

    @Override
    public boolean containsKey(String key) {
        return map.containsKey(key);
    }

    @Override
    public boolean delete(String key) {
        return map.remove(key) != null;
    }

    @Override
    public void clear() {
        map.clear();
    }

    @Override
    public long size() {
        return map.size();
    }
}
