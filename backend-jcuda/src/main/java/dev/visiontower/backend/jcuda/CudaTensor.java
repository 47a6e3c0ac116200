package dev.visiontower.backend.jcuda;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.spi.AbstractTensor;
import dev.visiontower.api.spi.TensorRegistry;
import jcuda.driver.CUdeviceptr;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A dense row-major tensor in device memory (float32, or int64 for indices). Reshapes share their storage, which is
 * returned to the backend's caching allocator when the last tensor on it closes.
 */
final class CudaTensor extends AbstractTensor {
    /** Device memory shared by a tensor and its reshapes. */
    static final class Storage {
        final CudaAllocator.Block block;
        private final CudaBackend backend;
        private final AtomicInteger refs = new AtomicInteger(1);

        Storage(CudaBackend backend, CudaAllocator.Block block) {
            this.backend = backend;
            this.block = block;
        }

        Storage retain() {
            refs.incrementAndGet();
            return this;
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                backend.freeBlock(block);
            }
        }
    }

    final CudaBackend backend;
    final Storage storage;
    final boolean parameter;
    /** A parameter's 16-bit copy (the backend's one precision) for tensor-core products, made on first use. */
    private CudaAllocator.Block lowp;
    /** Device data derived from this parameter (e.g. a fused block's concatenated weights), freed with it. */
    private java.util.Map<String, CudaAllocator.Block> derived;

    CudaTensor(CudaBackend backend, TensorRegistry registry, Storage storage, long[] shape, DType dtype,
               boolean scoped, boolean parameter) {
        super(registry, shape, dtype, scoped);
        this.backend = backend;
        this.storage = storage;
        this.parameter = parameter;
    }

    CUdeviceptr ptr() {
        checkOpen();
        return storage.block.ptr();
    }

    long[] dims() {
        return shape();
    }

    long numel() {
        long n = 1;
        for (long d : rawShape()) {
            n *= d;
        }
        return n;
    }

    synchronized CUdeviceptr lowPrecisionCopy(CudaBackend b) {
        checkOpen();
        if (lowp == null) {
            lowp = b.to16Bit(ptr(), numel());
        }
        return lowp.ptr();
    }

    /** The device data cached under {@code key}, made by {@code make} on first use; freed when this tensor closes. */
    synchronized CUdeviceptr derived(String key, java.util.function.Supplier<CudaAllocator.Block> make) {
        checkOpen();
        if (derived == null) {
            derived = new java.util.HashMap<>();
        }
        CudaAllocator.Block b = derived.get(key);
        if (b == null) {
            b = make.get();
            derived.put(key, b);
        }
        return b.ptr();
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public HostTensor toHost() {
        checkOpen();
        return backend.download(this);
    }

    @Override
    protected void release() {
        storage.release();
        synchronized (this) {
            if (lowp != null) {
                backend.freeBlock(lowp);
                lowp = null;
            }
            if (derived != null) {
                derived.values().forEach(backend::freeBlock);
                derived = null;
            }
        }
    }
}
