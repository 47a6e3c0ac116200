package dev.visiontower.backend.jcuda;

import jcuda.CudaException;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching device allocator: freed blocks are kept by size and handed out again instead of calling
 * {@code cuMemFree}/{@code cuMemAlloc} on every tensor, which would synchronize the device each time. All work runs on
 * one stream, so a block freed by the host may be reused at once: later kernels on that stream are ordered after the
 * ones still reading it. When an allocation fails, the cache is emptied and the allocation retried once.
 *
 * <p>Sizes are rounded to 512 bytes below 1 MiB and to 2 MiB above; a cached block is reused for a request of at
 * least half its size.
 */
final class CudaAllocator {
    private static final long SMALL = 1L << 20;
    private static final long SMALL_ROUND = 512;
    private static final long LARGE_ROUND = 2L << 20;

    private final TreeMap<Long, ArrayDeque<CUdeviceptr>> free = new TreeMap<>();
    private long cachedBytes;
    private long inUseBytes;
    private long peakBytes;
    private long deviceAllocations;
    private long reuses;
    private boolean closed;

    /** A block of device memory; {@link #bytes} is the rounded size it was allocated with. */
    record Block(CUdeviceptr ptr, long bytes) {
    }

    static long round(long bytes) {
        long b = Math.max(bytes, 1);
        long unit = b < SMALL ? SMALL_ROUND : LARGE_ROUND;
        return (b + unit - 1) / unit * unit;
    }

    synchronized Block allocate(long bytes) {
        if (closed) {
            throw new IllegalStateException("jcuda: allocator is closed");
        }
        long size = round(bytes);
        Map.Entry<Long, ArrayDeque<CUdeviceptr>> e = free.ceilingEntry(size);
        if (e != null && e.getKey() <= 2 * size) {
            CUdeviceptr p = e.getValue().pop();
            if (e.getValue().isEmpty()) {
                free.remove(e.getKey());
            }
            cachedBytes -= e.getKey();
            reuses++;
            return used(new Block(p, e.getKey()));
        }
        CUdeviceptr p = new CUdeviceptr();
        try {
            JCudaDriver.cuMemAlloc(p, size);
        } catch (CudaException first) {
            emptyCache();
            try {
                JCudaDriver.cuMemAlloc(p, size);
            } catch (CudaException again) {
                long[] fr = new long[1];
                long[] total = new long[1];
                try {
                    JCudaDriver.cuMemGetInfo(fr, total);
                } catch (CudaException ignored) {
                    // report without the device's figures
                }
                throw new dev.visiontower.api.OutOfMemoryException(String.format(java.util.Locale.ROOT,
                        "jcuda: out of device memory allocating %.1f MiB (tensors hold %.1f MiB; device free %.1f of "
                                + "%.1f MiB): %s", size / 1048576.0, inUseBytes / 1048576.0, fr[0] / 1048576.0,
                        total[0] / 1048576.0, again.getMessage()), again);
            }
        }
        deviceAllocations++;
        return used(new Block(p, size));
    }

    private Block used(Block b) {
        inUseBytes += b.bytes();
        peakBytes = Math.max(peakBytes, inUseBytes);
        return b;
    }

    synchronized void free(Block b) {
        inUseBytes -= b.bytes();
        if (closed) {
            JCudaDriver.cuMemFree(b.ptr());
            return;
        }
        free.computeIfAbsent(b.bytes(), k -> new ArrayDeque<>()).push(b.ptr());
        cachedBytes += b.bytes();
    }

    /** Returns every cached block to the driver. */
    synchronized void emptyCache() {
        for (ArrayDeque<CUdeviceptr> q : free.values()) {
            for (CUdeviceptr p : q) {
                JCudaDriver.cuMemFree(p);
            }
        }
        free.clear();
        cachedBytes = 0;
    }

    /** Frees the cache; blocks still held by open tensors are freed when those close. */
    synchronized void close() {
        if (!closed) {
            emptyCache();
            closed = true;
        }
    }

    synchronized long inUseBytes() {
        return inUseBytes;
    }

    synchronized long cachedBytes() {
        return cachedBytes;
    }

    synchronized long peakBytes() {
        return peakBytes;
    }

    synchronized long deviceAllocations() {
        return deviceAllocations;
    }

    synchronized long reuses() {
        return reuses;
    }
}
