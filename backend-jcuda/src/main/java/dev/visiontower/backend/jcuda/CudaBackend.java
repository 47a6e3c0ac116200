package dev.visiontower.backend.jcuda;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.VisionTowerException;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.Operands;
import dev.visiontower.api.spi.ShapeRules;
import dev.visiontower.api.spi.TensorRegistry;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.Set;

/**
 * The {@code jcuda} backend on one GPU: device memory (a caching allocator), tensors, the stream, the options chosen
 * at open and the fused layers. Its operations ({@link CudaOps}) enqueue kernels on the backend's stream and return at
 * once; reading a result ({@link Tensor#toHost()}) waits for them. Inputs are checked on the host before anything is
 * launched, so a wrong shape is an {@link InvalidInputException}, never a device fault. Matrix products go through
 * {@link GemmDispatch}.
 */
public final class CudaBackend implements Backend {
    private final BackendOptions options;
    private final CudaDriver.Gpu gpu;
    private final Kernels kernels;
    private final CUstream stream = new CUstream();
    private final CudaAllocator allocator = new CudaAllocator();
    private final Gemm gemm;
    private final Gemm.Precision precision;
    private final TensorRegistry registry = new TensorRegistry();
    private final String gemmNote;
    /** Whether 16-bit attention with head size 64 or 128 runs as one fused kernel. */
    private final boolean fusedAttention;
    /** Whether fused blocks' attention runs on the register-resident kernel ({@code attention=flash2}). */
    private final boolean flash2;
    /** The 16-bit product kernels' tile choice (option {@code tile}); the fused blocks use wgmma for {@code wgmma}. */
    private final String tile;
    /** Whether LayerNorm/RMSNorm rows of 128..1024 (multiples of 128) run one warp per row (option {@code norm=warp}). */
    private final boolean warpNorms;
    /** Whether 16-bit transformer blocks run as {@link FusedBlock}s (option {@code block=fused}). */
    private final boolean fusedBlocks;
    private volatile boolean closed;
    private final CudaOps ops;

    CudaBackend(BackendOptions options, CudaDriver.Gpu gpu, String gemmChoice, boolean tf32, String kernelMode,
                boolean pipeline, String attention, String tile, boolean fusedBlocks, boolean warpNorms) {
        this.options = options;
        this.fusedAttention = !attention.equals("unfused");
        this.flash2 = attention.equals("flash2");
        this.tile = tile;
        this.warpNorms = warpNorms;
        this.fusedBlocks = fusedBlocks;
        this.gpu = gpu;
        current();
        this.kernels = Kernels.load(gpu, kernelMode, tile.equals("wgmma"));
        JCudaDriver.cuStreamCreate(stream, 0); // blocking: ordered with the synchronous copies on the legacy stream
        Gemm g = null;
        String note = "";
        if (!gemmChoice.equals("own")) {
            String err = JCudaBackendProvider.cublasProblem();
            if (err == null) {
                try {
                    g = new Gemm.Cublas(kernels, stream);
                } catch (Throwable t) {
                    err = JCudaNatives.reason(t);
                }
            }
            if (g == null) {
                if (gemmChoice.equals("cublas")) {
                    throw new VisionTowerException("jcuda: gemm=cublas was requested but cuBLAS cannot be used: " + err);
                }
                note = " (cuBLAS unavailable: " + err + ")";
            }
        }
        this.gemm = g != null ? g : new Gemm.Own(kernels, stream, pipeline, tile);
        this.gemmNote = note;
        switch (options.dtype()) {
            case BFLOAT16: precision = Gemm.Precision.BF16; break;
            case FLOAT16: precision = Gemm.Precision.FP16; break;
            default: precision = tf32 ? Gemm.Precision.TF32 : Gemm.Precision.FP32; break;
        }
        this.ops = new CudaOps(this, new GemmDispatch(this, gemm, precision, kernels, stream), fusedAttention);
    }

    TensorRegistry registry() {
        return registry;
    }

    CudaAllocator allocator() {
        return allocator;
    }

    // ---- backend ----

    @Override
    public String name() {
        return JCudaBackendProvider.NAME;
    }

    @Override
    public Device device() {
        return options.device();
    }

    @Override
    public DType dtype() {
        return options.dtype();
    }

    @Override
    public Set<Capability> capabilities() {
        return new JCudaBackendProvider().capabilities();
    }

    @Override
    public Ops ops() {
        return ops;
    }

    /** Fused transformer blocks for 16-bit compute (see {@link FusedBlock}); the reference layers otherwise. */
    @Override
    public dev.visiontower.api.nn.LayerFactory layers() {
        boolean low = precision == Gemm.Precision.BF16 || precision == Gemm.Precision.FP16;
        return low && fusedBlocks ? new CudaLayers(this) : dev.visiontower.api.nn.LayerFactory.DEFAULT;
    }

    Gemm.Precision precision() {
        return precision;
    }

    Kernels kernels() {
        return kernels;
    }

    CUstream stream() {
        return stream;
    }

    /** GPU, GEMM engine and precision, kernel source: what {@code visiontower backends} and benchmarks print. */
    public String describe() {
        boolean low = precision == Gemm.Precision.BF16 || precision == Gemm.Precision.FP16;
        return gpu.name() + " (" + gpu.arch() + "); GEMM: " + gemm.describe() + gemmNote + ", " + precision
                + "; attention: " + (low && fusedAttention ? "fused for head sizes 64 and 128" : "unfused")
                + (low && fusedBlocks ? "; transformer blocks: fused (" + (tile.equals("wgmma") ? "wgmma" : "mma.sync")
                        + " products with epilogues, "
                        + (flash2 ? "register-resident attention" : "WMMA attention")
                        + (warpNorms ? ", one-warp-per-row norms)" : ")") : "")
                + "; kernels: " + kernels.origin;
    }

    @Override
    public dev.visiontower.api.Tolerance tolerance() {
        return precision == Gemm.Precision.TF32 ? dev.visiontower.api.Tolerance.TF32
                : dev.visiontower.api.Tolerance.forDType(options.dtype());
    }

    @Override
    public String description() {
        return "jcuda on " + options.device() + ": " + describe();
    }

    @Override
    public java.util.OptionalDouble peakTflops() {
        return Peaks.denseTflops(gpu, precision);
    }

    /** The GPU's name, e.g. {@code NVIDIA H100 80GB HBM3}. */
    public String gpuName() {
        return gpu.name();
    }

    /** The compute capability, e.g. {@code sm_90}. */
    public String gpuArch() {
        return gpu.arch();
    }

    /** Bytes held by open tensors, bytes cached for reuse, peak bytes held. */
    public long[] memoryStats() {
        return new long[] {allocator.inUseBytes(), allocator.cachedBytes(), allocator.peakBytes()};
    }

    /** Waits until every enqueued kernel has finished (for timing). */
    public void synchronize() {
        current();
        JCudaDriver.cuStreamSynchronize(stream);
    }

    /**
     * Runs {@code work} between two CUDA events on the backend's stream and returns the device time in milliseconds
     * (the host enqueues; the GPU's own clock measures).
     */
    public float timeOnDevice(Runnable work) {
        current();
        jcuda.driver.CUevent start = new jcuda.driver.CUevent();
        jcuda.driver.CUevent end = new jcuda.driver.CUevent();
        JCudaDriver.cuEventCreate(start, 0);
        JCudaDriver.cuEventCreate(end, 0);
        try {
            JCudaDriver.cuEventRecord(start, stream);
            work.run();
            current();
            JCudaDriver.cuEventRecord(end, stream);
            JCudaDriver.cuEventSynchronize(end);
            float[] ms = new float[1];
            JCudaDriver.cuEventElapsedTime(ms, start, end);
            return ms[0];
        } finally {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(end);
        }
    }

    @Override
    public Tensor fromHost(HostTensor host) {
        return upload(host, true, false);
    }

    @Override
    public Tensor parameter(String name, HostTensor host) {
        return upload(host, false, true);
    }

    private CudaTensor upload(HostTensor h, boolean scoped, boolean parameter) {
        checkOpenBackend();
        current();
        long[] shape = h.shape();
        if (h.dtype() == DType.INT64) {
            long[] v = h.longs();
            CudaTensor t = alloc(shape, DType.INT64, scoped, parameter);
            if (v.length > 0) {
                JCudaDriver.cuMemcpyHtoD(t.ptr(), Pointer.to(v), 8L * v.length);
            }
            return t;
        }
        float[] v = h.dtype() == DType.FLOAT32 ? h.floats() : h.toFloatArray();
        CudaTensor t = alloc(shape, DType.FLOAT32, scoped, parameter);
        if (v.length > 0) {
            JCudaDriver.cuMemcpyHtoD(t.ptr(), Pointer.to(v), 4L * v.length);
        }
        return t;
    }

    HostTensor download(CudaTensor t) {
        current();
        long[] shape = t.dims();
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new VisionTowerException("jcuda: tensor " + Shapes.format(shape) + " is too large for one host array");
        }
        if (t.dtype() == DType.INT64) {
            long[] v = new long[(int) n];
            if (n > 0) {
                JCudaDriver.cuMemcpyDtoH(Pointer.to(v), t.ptr(), 8L * n);
            }
            return HostTensor.ofLongs(v, shape);
        }
        float[] v = new float[(int) n];
        if (n > 0) {
            JCudaDriver.cuMemcpyDtoH(Pointer.to(v), t.ptr(), 4L * n);
        }
        return HostTensor.ofFloats(v, shape);
    }

    @Override
    public TensorScope newScope() {
        return registry.newScope();
    }

    @Override
    public long liveTensors() {
        return registry.live();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        current();
        try {
            JCudaDriver.cuStreamSynchronize(stream);
        } finally {
            gemm.close();
            allocator.close();
            JCudaDriver.cuStreamDestroy(stream);
        }
    }

    // ---- memory ----

    /** Makes this GPU's context current on the calling thread (cheap; every entry point calls it). */
    void current() {
        JCudaDriver.cuCtxSetCurrent(gpu.context());
    }

    void checkOpenBackend() {
        if (closed) {
            throw new IllegalStateException("backend 'jcuda' is closed");
        }
    }

    CudaTensor alloc(long[] shape, DType dtype, boolean scoped, boolean parameter) {
        long n = Shapes.numel(shape);
        CudaAllocator.Block b = allocator.allocate(n * (dtype == DType.INT64 ? 8 : 4));
        return new CudaTensor(this, registry, new CudaTensor.Storage(this, b), shape, dtype, scoped, parameter);
    }

    CudaTensor alloc(long[] shape, DType dtype) {
        return alloc(shape, dtype, true, false);
    }

    /** A float32 tensor in the current scope, for layers of this package. */
    CudaTensor allocTensor(long[] shape) {
        checkOpenBackend();
        return alloc(shape, DType.FLOAT32, true, false);
    }

    /** Raw device memory from the caching allocator; give it back with {@link #freeBlock}. */
    CudaAllocator.Block allocBlock(long bytes) {
        checkOpenBackend();
        current();
        return allocator.allocate(bytes);
    }

    void freeBlock(CudaAllocator.Block b) {
        current();
        allocator.free(b);
    }

    /** A 16-bit copy (bfloat16 or float16, the backend's precision) of {@code n} float32 values. */
    CudaAllocator.Block to16Bit(CUdeviceptr src, long n) {
        current();
        CudaAllocator.Block b = allocator.allocate(2 * n);
        kernels.launch1d(stream, precision == Gemm.Precision.FP16 ? "vt_f32_to_f16" : "vt_f32_to_bf16", n, b.ptr(),
                src, n);
        return b;
    }

    // ---- helpers ----

    CudaTensor c(Tensor t, String op, String what) {
        return Operands.own(this, CudaTensor.class, t);
    }

    /** A float32 operand: int64 tensors are converted (exactly below 2^24). */
    CudaTensor f(Tensor t, String op, String what) {
        CudaTensor x = c(t, op, what);
        if (x.dtype() == DType.FLOAT32) {
            return x;
        }
        CudaTensor out = alloc(x.dims(), DType.FLOAT32);
        kernels.launch1d(stream, "vt_i64_to_f32", x.numel(), out.ptr(), x.ptr(), x.numel());
        return out;
    }

    /** Drops a temporary converted operand (a no-op for the caller's own tensor). */
    static void done(CudaTensor converted, Tensor original) {
        if (converted != original) {
            converted.close();
        }
    }

    static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    static int dim(int d, int rank, String op) {
        return ShapeRules.dim(op, d, rank);
    }

    static long[] broadcastShape(long[] a, long[] b, String op) {
        return ShapeRules.broadcast(op, a, b);
    }

    /** Strides of {@code shape} read as {@code target} (right-aligned, 0 where broadcast). */
    static long[] broadcastStrides(long[] shape, long[] target) {
        long[] own = strides(shape);
        long[] s = new long[target.length];
        int off = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            if (i >= off && shape[i - off] != 1) {
                s[i] = own[i - off];
            }
        }
        return s;
    }

    static long rows(long[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            n *= shape[i];
        }
        return n;
    }

    static int rowThreads(long cols) {
        return cols >= 512 ? 512 : (cols >= 256 ? 256 : 128);
    }

    static long[] without(long[] shape, int d) {
        long[] out = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != d) {
                out[j++] = shape[i];
            }
        }
        return out;
    }

    static long prod(long[] s, int from, int to) {
        long n = 1;
        for (int i = from; i < to; i++) {
            n *= s[i];
        }
        return n;
    }

    static int toInt(long v, String what) {
        if (v > Integer.MAX_VALUE) {
            throw new VisionTowerException("jcuda: " + what + " " + v + " exceeds 2^31-1");
        }
        return (int) v;
    }


    /**
     * Dynamic shared memory of the fused attention kernels ({@code vt_flash*}) for head size {@code d}: q, k, v tiles
     * (16-bit, rows padded by 8), the per-warp score and output tiles (float32), the probability tiles (16-bit) and the
     * running max, sum and rescale of 64 rows.
     */
    static int flashSharedBytes(int d) {
        int ldt = d + 8;
        int sw = Math.max(d, 64);
        return 3 * 64 * ldt * 2 + 4 * 16 * sw * 4 + 4 * 16 * d * 4 + 4 * 16 * 72 * 2 + 3 * 64 * 4;
    }

    /**
     * Dynamic shared memory of the register-resident attention kernels ({@code vt_flash2_*}) for head size {@code d}:
     * the q tile and two stages of k and v tiles, 64 rows of 16-bit values each, rows padded by 8.
     */
    static int flash2SharedBytes(int d) {
        return 5 * 64 * (d + 8) * 2;
    }

    /** Whether fused blocks run their attention on the register-resident kernel (option {@code attention=flash2}). */
    boolean flash2() {
        return flash2;
    }

    /** Whether rows of {@code cols} values are normalised by the one-warp-per-row kernels ({@code norm=warp}). */
    boolean warpNorm(long cols) {
        return warpNorms && cols % 128 == 0 && cols <= 1024;
    }

    /** The tile option: {@code mma}, {@code wgmma}, {@code narrow} or {@code wide}. */
    String tile() {
        return tile;
    }
}
