package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.UnsupportedCapabilityException;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.Operands;
import dev.visiontower.api.spi.ShapeRules;
import dev.visiontower.api.spi.TensorRegistry;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/** The libtorch backend: eager operations on CPU or one CUDA device. */
final class TorchBackend implements Backend, Ops, dev.visiontower.api.Autograd {
    static final String THREADS_PROPERTY = "visiontower.libtorch.threads";

    private final Device device;
    private final dev.visiontower.api.DType dtype;
    private final torch.ScalarType computeType;
    private final org.bytedeco.pytorch.Device torchDevice;
    static final String ONEDNN_OPTION = "onednn";
    static final String ATTENTION_OPTION = "attention";

    private final TensorRegistry registry = new TensorRegistry();
    private final Set<Capability> capabilities;
    /** oneDNN for the CPU blocks' products, or null (not loaded, switched off, or a type it does not take). */
    private final OneDnn dnnl;
    private final dev.visiontower.api.nn.LayerFactory layers;
    private final boolean dnnlAttention;
    private final int threads;

    TorchBackend(BackendOptions options) {
        this.device = options.device();
        this.dtype = options.dtype();
        boolean cuda = device.kind() == Device.Kind.CUDA;
        torch.ScalarType ct;
        switch (dtype) {
            case FLOAT32:
                ct = torch.ScalarType.Float;
                break;
            case BFLOAT16:
                ct = torch.ScalarType.BFloat16;
                break;
            case FLOAT16:
                if (!cuda) {
                    throw new UnsupportedCapabilityException(TorchBackendProvider.NAME, Capability.FLOAT16,
                            "float16 on the CPU (use bfloat16 or float32)");
                }
                ct = torch.ScalarType.Half;
                break;
            case INT8:
                if (cuda) {
                    throw new UnsupportedCapabilityException(TorchBackendProvider.NAME, Capability.INT8,
                            "int8 products on CUDA (int8 runs on the CPU through oneDNN)");
                }
                ct = int8Activations(options); // products quantise; the rest computes in this type
                break;
            default:
                throw new InvalidInputException("unsupported compute dtype " + dtype);
        }
        String useDnnl = options.extra().getOrDefault(ONEDNN_OPTION, "true");
        if (!useDnnl.equals("true") && !useDnnl.equals("false")) {
            throw new InvalidInputException("libtorch option " + ONEDNN_OPTION + " must be true or false, got '"
                    + useDnnl + "'");
        }
        OneDnn found = !cuda && useDnnl.equals("true") && OneDnnBlock.supportsType(dtype) ? OneDnn.get() : null;
        if (found != null && dtype == dev.visiontower.api.DType.INT8 && ct == torch.ScalarType.BFloat16
                && !options.extra().containsKey(INT8_ACTIVATIONS_OPTION)
                && !found.supports(OneDnn.Type.S8, OneDnn.Type.BF16)) {
            ct = torch.ScalarType.Float; // oneDNN has no bfloat16 kernels here: float32 activations
        }
        OneDnn.Type act = ct == torch.ScalarType.BFloat16 ? OneDnn.Type.BF16 : OneDnn.Type.F32;
        OneDnn.Type weights = dtype == dev.visiontower.api.DType.INT8 ? OneDnn.Type.S8 : act;
        // without kernels for these types on this CPU, libtorch's own run everything (bfloat16: slower, still right)
        this.computeType = ct;
        this.dnnl = found != null && found.supports(weights, act) ? found : null;
        if (dtype == dev.visiontower.api.DType.INT8 && dnnl == null) {
            String why = useDnnl.equals("false") ? "switched off by onednn=false"
                    : found != null ? "it has no int8 product kernels for this CPU as it sees it"
                    : "not loaded: " + TorchBackendProvider.rootMessage(OneDnn.failure());
            throw new UnsupportedCapabilityException(TorchBackendProvider.NAME, Capability.INT8, "int8 products "
                    + "without oneDNN (" + why + ")");
        }
        String att = options.extra().getOrDefault(ATTENTION_OPTION, "sdpa");
        if (!att.equals("sdpa") && !att.equals("onednn")) {
            throw new InvalidInputException("libtorch option " + ATTENTION_OPTION + " must be sdpa or onednn, got '"
                    + att + "'");
        }
        this.dnnlAttention = att.equals("onednn");
        this.layers = dnnl == null ? dev.visiontower.api.nn.LayerFactory.DEFAULT
                : dev.visiontower.api.nn.LayerFactory.withBlocks((spec, p, ref) -> OneDnnBlock.supports(spec)
                        ? new OneDnnBlock(this, dnnl, spec, p, ref) : ref);
        int threads = options.threads();
        if (threads == 0) {
            threads = Integer.getInteger(THREADS_PROPERTY, 0);
        }
        if (!cuda) {
            threads = ThreadPolicy.apply(threads, dnnl != null);
        } else if (threads > 0) {
            torch.set_num_threads(threads);
        }
        this.threads = threads;
        this.torchDevice = device.kind() == Device.Kind.CUDA
                ? new org.bytedeco.pytorch.Device(torch.DeviceType.CUDA, (byte) device.index())
                : new org.bytedeco.pytorch.Device(torch.DeviceType.CPU);
        this.capabilities = cuda
                ? EnumSet.of(Capability.INFERENCE, Capability.TRAINING, Capability.FLOAT32, Capability.FLOAT16,
                        Capability.BFLOAT16, Capability.CUDA)
                : EnumSet.of(Capability.INFERENCE, Capability.TRAINING, Capability.FLOAT32, Capability.BFLOAT16);
        if (dnnl != null || (!cuda && OneDnn.get() != null)) {
            capabilities.add(Capability.INT8);
        }
    }

    static final String INT8_ACTIVATIONS_OPTION = "int8.activations";

    /**
     * The type of the activations between int8 products: bfloat16 where the CPU computes it natively (AMX or
     * AVX512-BF16: attention, norms' inputs and the residual stream then move half the bytes; norms and softmax still
     * accumulate in float32), else float32; option {@code int8.activations=float32|bfloat16} overrides.
     */
    private static torch.ScalarType int8Activations(BackendOptions options) {
        String v = options.extra().get(INT8_ACTIVATIONS_OPTION);
        if (v == null) {
            dev.visiontower.api.spi.CpuFeatures cpu = dev.visiontower.api.spi.CpuFeatures.current();
            return cpu.has("amx_bf16") || cpu.has("avx512_bf16") ? torch.ScalarType.BFloat16 : torch.ScalarType.Float;
        }
        switch (dev.visiontower.api.DType.parse(v)) {
            case FLOAT32: return torch.ScalarType.Float;
            case BFLOAT16: return torch.ScalarType.BFloat16;
            default: throw new InvalidInputException("libtorch option " + INT8_ACTIVATIONS_OPTION
                    + " must be float32 or bfloat16, got '" + v + "'");
        }
    }

    /** The element type of this backend's floating-point tensors (with int8 products: the activations' type). */
    dev.visiontower.api.DType tensorType() {
        if (dtype != dev.visiontower.api.DType.INT8) {
            return dtype;
        }
        return computeType == torch.ScalarType.BFloat16 ? dev.visiontower.api.DType.BFLOAT16
                : dev.visiontower.api.DType.FLOAT32;
    }

    /** Whether products quantise to int8. */
    boolean int8() {
        return dtype == dev.visiontower.api.DType.INT8;
    }

    @Override
    public String name() {
        return TorchBackendProvider.NAME;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public dev.visiontower.api.DType dtype() {
        return dtype;
    }

    @Override
    public Set<Capability> capabilities() {
        return capabilities;
    }

    @Override
    public Ops ops() {
        return this;
    }

    @Override
    public String description() {
        if (device.kind() == Device.Kind.CUDA) {
            return name() + " on " + device + " (" + dtype + ")";
        }
        return name() + " on cpu (" + dtype + "; " + (dnnl != null ? "block products on " + dnnl.description()
                + (dnnlAttention ? " with attention" : "") : "products on OpenBLAS/libtorch") + "; "
                + ThreadPolicy.current() + ")";
    }

    @Override
    public dev.visiontower.api.nn.LayerFactory layers() {
        return layers;
    }

    /** Whether the oneDNN blocks compute unmasked attention on oneDNN too (option attention=onednn). */
    boolean dnnlAttention() {
        return dnnlAttention;
    }

    @Override
    public dev.visiontower.api.Autograd autograd() {
        return this;
    }

    @Override
    public dev.visiontower.api.Tensor requireGrad(dev.visiontower.api.Tensor leaf) {
        if (!leaf.dtype().isFloatingPoint()) {
            throw new InvalidInputException("only floating-point tensors take gradients, got " + leaf.dtype());
        }
        try (PointerScope ignored = new PointerScope()) {
            t(leaf).requires_grad_(true);
        }
        return leaf;
    }

    @Override
    public Region autocast(dev.visiontower.api.DType dtype) {
        torch.ScalarType st;
        if (dtype == dev.visiontower.api.DType.BFLOAT16) {
            st = torch.ScalarType.BFloat16;
        } else if (dtype == dev.visiontower.api.DType.FLOAT16) {
            st = torch.ScalarType.Half;
        } else {
            throw new InvalidInputException("autocast computes in bfloat16 or float16, got " + dtype);
        }
        if (computeType != torch.ScalarType.Float) {
            throw new InvalidInputException("autocast needs a float32 backend (parameters stay float32); this one "
                    + "computes in " + dtype());
        }
        torch.DeviceType dt = device.kind() == Device.Kind.CUDA ? torch.DeviceType.CUDA : torch.DeviceType.CPU;
        boolean wasEnabled = torch.is_autocast_enabled(dt);
        torch.ScalarType wasType = torch.get_autocast_dtype(dt);
        torch.set_autocast_dtype(dt, st);
        torch.set_autocast_enabled(dt, true);
        torch.increment_nesting();
        return Region.ofCurrentThread("autocast", () -> {
            if (torch.decrement_nesting() == 0) {
                torch.clear_cache(); // casts of the weights are cached per region; they go stale after a step
            }
            torch.set_autocast_enabled(dt, wasEnabled);
            torch.set_autocast_dtype(dt, wasType);
        });
    }

    @Override
    public Region noGrad() {
        org.bytedeco.pytorch.NoGradGuard guard = new org.bytedeco.pytorch.NoGradGuard();
        return Region.ofCurrentThread("no-gradient", guard::close); // the guard's destructor restores the mode
    }

    @Override
    public dev.visiontower.api.Tensor detachRequiringGrad(dev.visiontower.api.Tensor x) {
        Tensor native_ = t(x);
        return wrap(() -> native_.detach().requires_grad_(true));
    }

    @Override
    public void backward(dev.visiontower.api.Tensor output, dev.visiontower.api.Tensor gradient) {
        if (!java.util.Arrays.equals(output.shape(), gradient.shape())) {
            throw new InvalidInputException("backward: gradient " + Shapes.format(gradient.shape())
                    + " does not match the output " + Shapes.format(output.shape()));
        }
        try (PointerScope ignored = new PointerScope()) {
            t(output).backward(t(gradient), new org.bytedeco.pytorch.BoolOptional(), false,
                    new org.bytedeco.pytorch.TensorArrayRefOptional());
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    @Override
    public void backward(dev.visiontower.api.Tensor loss) {
        if (loss.rank() != 0 && !(loss.rank() == 1 && loss.dim(0) == 1)) {
            throw new InvalidInputException("backward needs a scalar loss, got " + Shapes.format(loss.shape()));
        }
        try (PointerScope ignored = new PointerScope()) {
            t(loss).backward();
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    @Override
    public dev.visiontower.api.Tensor grad(dev.visiontower.api.Tensor leaf) {
        Tensor native_ = t(leaf);
        boolean has;
        try (PointerScope ignored = new PointerScope()) {
            has = native_.grad().defined();
        }
        return has ? wrap(() -> native_.grad().detach().clone()) : null;
    }

    @Override
    public void zeroGrad(dev.visiontower.api.Tensor leaf) {
        try (PointerScope ignored = new PointerScope()) {
            Tensor g = t(leaf).grad();
            if (g.defined()) {
                g.zero_();
            }
        }
    }

    @Override
    public void assign(dev.visiontower.api.Tensor target, HostTensor values) {
        if (!java.util.Arrays.equals(target.shape(), values.shape())) {
            throw new InvalidInputException("assign: values " + Shapes.format(values.shape()) + " do not fit "
                    + Shapes.format(target.shape()));
        }
        Tensor native_ = t(target);
        try (PointerScope ignored = new PointerScope()) {
            native_.detach().copy_(upload(values));
        } catch (RuntimeException e) {
            throw translate(e);
        }
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
    public void close() {
        // libtorch keeps no per-backend state; tensors are released by their owners
    }

    // ---- tensor creation ----

    private Tensor upload(HostTensor host) {
        long[] shape = host.shape();
        Tensor cpu;
        switch (host.dtype()) {
            case FLOAT32: cpu = Tensor.create(host.floats(), shape); break;
            case INT64: cpu = Tensor.create(host.longs(), shape); break;
            case UINT8: cpu = Tensor.create(host.bytes(), true, shape); break;
            default: throw new InvalidInputException("cannot upload a " + host.dtype() + " tensor");
        }
        // floating-point data moves to the compute dtype; integers and bytes keep theirs
        torch.ScalarType target = host.dtype() == dev.visiontower.api.DType.FLOAT32 ? computeType
                : cpu.scalar_type().intern();
        if (device.kind() == Device.Kind.CPU && target == torch.ScalarType.Float) {
            return cpu;
        }
        return cpu.to(torchDevice, target);
    }

    @Override
    public dev.visiontower.api.Tensor fromHost(HostTensor host) {
        return wrap(() -> upload(host), true);
    }

    @Override
    public dev.visiontower.api.Tensor parameter(String name, HostTensor host) {
        if (host.dtype() != dev.visiontower.api.DType.FLOAT32) {
            throw new InvalidInputException("parameter '" + name + "' must be float32, got " + host.dtype());
        }
        return wrap(() -> upload(host), false);
    }

    /** Runs {@code body} in a JavaCPP pointer scope (freeing temporaries) and wraps its result. */
    private TorchTensor wrap(Supplier<Tensor> body, boolean scoped) {
        // Every native object made here (options, scalars, shape views) belongs to this pointer scope and is freed
        // when it closes; the result gets an extra reference that TorchTensor.release() drops.
        try (PointerScope ignored = new PointerScope()) {
            Tensor result = body.get();
            result.retainReference();
            try {
                return new TorchTensor(this, registry, result, scoped);
            } catch (RuntimeException e) {
                result.releaseReference();
                throw e;
            }
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    /** libtorch's own errors arrive as plain RuntimeExceptions carrying the C++ message and a long backtrace. */
    private static RuntimeException translate(RuntimeException e) {
        if (e.getClass() != RuntimeException.class) {
            return e; // ours (closed tensor, wrong backend, bad shape) or a JVM error: keep as is
        }
        String m = String.valueOf(e.getMessage());
        int cut = m.indexOf("Exception raised from");
        if (cut >= 0) {
            m = m.substring(0, cut).trim();
        }
        if (dev.visiontower.api.OutOfMemoryException.isOutOfMemory(m)) {
            return new dev.visiontower.api.OutOfMemoryException("libtorch: out of memory: " + m, e);
        }
        return new InvalidInputException("libtorch: " + m, e);
    }

    private TorchTensor wrap(Supplier<Tensor> body) {
        return wrap(body, true);
    }

    /** Runs native code in a pointer scope and registers its result in the caller's tensor scope. */
    TorchTensor wrapNative(Supplier<Tensor> body) {
        return wrap(body, true);
    }

    private Tensor t(dev.visiontower.api.Tensor x) {
        return Operands.own(this, TorchTensor.class, x).t();
    }

    private TensorOptional opt(dev.visiontower.api.Tensor x) {
        return x == null ? new TensorOptional() : new TensorOptional(t(x));
    }

    // ---- ops ----

    /** The shape of an operand of this backend (null for null), checked to be one of its own. */
    private long[] sh(dev.visiontower.api.Tensor x) {
        return x == null ? null : Operands.own(this, TorchTensor.class, x).shape();
    }

    @Override
    public dev.visiontower.api.Tensor linear(dev.visiontower.api.Tensor x, dev.visiontower.api.Tensor weight,
                                             dev.visiontower.api.Tensor bias) {
        ShapeRules.linear(sh(x), sh(weight), sh(bias));
        long in = x.dim(-1);
        long[] w = weight.shape();
        if (dnnl != null && weight instanceof TorchTensor && ((TorchTensor) weight).parameter
                && (bias == null || bias instanceof TorchTensor && ((TorchTensor) bias).parameter)
                && x.dtype() == tensorType() && weight.dtype() == tensorType()
                && (bias == null ? inference(x, weight) : inference(x, weight, bias))) {
            long[] outShape = x.shape();
            outShape[outShape.length - 1] = w[0];
            OneDnn.Packed packed = packedLinear((TorchTensor) weight, (TorchTensor) bias);
            return wrap(() -> dnnl.linear(t(x).reshape(-1, in).contiguous(), packed, OneDnn.Epilogue.NONE, null)
                    .view(outShape));
        }
        return wrap(() -> torch.linear(t(x), t(weight), opt(bias)));
    }

    /** A weight (and bias) packed for oneDNN once, kept with the weight, repacked when either changes in place. */
    private OneDnn.Packed packedLinear(TorchTensor w, TorchTensor b) {
        long[] versions = b == null ? new long[] {w.version()} : new long[] {w.version(), b.version()};
        String key = "onednn-linear" + (b == null ? "" : "@" + System.identityHashCode(b));
        return w.packed(key, VersionedPacked.class, () -> {
            try (PointerScope ignored = new PointerScope()) {
                return new VersionedPacked(dnnl.pack(w.t(), b == null ? null : b.t(), null, int8()), versions);
            }
        }, held -> !Arrays.equals(held.versions, versions)).packed;
    }

    /** Packed weights and the versions of the tensors they were made from. */
    private record VersionedPacked(OneDnn.Packed packed, long[] versions) implements AutoCloseable {
        @Override
        public void close() {
            packed.close();
        }
    }

    /**
     * Whether a computation on these tensors may skip what training needs: no gradient can flow (grad mode off, or
     * nothing requires grad) and autocast is off (its casts are part of the computation).
     */
    boolean inference(dev.visiontower.api.Tensor... xs) {
        if (torch.is_autocast_enabled(torch.DeviceType.CPU)) {
            return false;
        }
        if (!org.bytedeco.pytorch.GradMode.is_enabled()) {
            return true;
        }
        for (dev.visiontower.api.Tensor x : xs) {
            if (t(x).requires_grad()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public dev.visiontower.api.Tensor matmul(dev.visiontower.api.Tensor a, dev.visiontower.api.Tensor b) {
        ShapeRules.matmul(sh(a), sh(b));
        return wrap(() -> torch.matmul(t(a), t(b)));
    }

    @Override
    public dev.visiontower.api.Tensor add(dev.visiontower.api.Tensor a, dev.visiontower.api.Tensor b) {
        ShapeRules.broadcast("add", sh(a), sh(b));
        return wrap(() -> t(a).add(t(b)));
    }

    @Override
    public dev.visiontower.api.Tensor sub(dev.visiontower.api.Tensor a, dev.visiontower.api.Tensor b) {
        ShapeRules.broadcast("sub", sh(a), sh(b));
        return wrap(() -> t(a).sub(t(b)));
    }

    @Override
    public dev.visiontower.api.Tensor mul(dev.visiontower.api.Tensor a, dev.visiontower.api.Tensor b) {
        ShapeRules.broadcast("mul", sh(a), sh(b));
        return wrap(() -> t(a).mul(t(b)));
    }

    @Override
    public dev.visiontower.api.Tensor scale(dev.visiontower.api.Tensor x, double factor) {
        return wrap(() -> t(x).mul(new Scalar(factor)));
    }

    @Override
    public dev.visiontower.api.Tensor layerNorm(dev.visiontower.api.Tensor x, dev.visiontower.api.Tensor weight,
                                                dev.visiontower.api.Tensor bias, double eps) {
        ShapeRules.normParameter("layerNorm", "weight", sh(x), sh(weight));
        ShapeRules.normParameter("layerNorm", "bias", sh(x), sh(bias));
        long d = x.dim(-1);
        return wrap(() -> torch.layer_norm(t(x), new long[] {d}, opt(weight), opt(bias), eps, false));
    }

    @Override
    public dev.visiontower.api.Tensor rmsNorm(dev.visiontower.api.Tensor x, dev.visiontower.api.Tensor weight,
                                              double eps) {
        ShapeRules.normParameter("rmsNorm", "weight", sh(x), sh(weight));
        long d = x.dim(-1);
        return wrap(() -> torch.rms_norm(t(x), new long[] {d}, opt(weight), new DoubleOptional(eps)));
    }

    @Override
    public dev.visiontower.api.Tensor activation(dev.visiontower.api.Tensor x, Activation activation) {
        switch (activation) {
            case QUICK_GELU:
                return wrap(() -> {
                    Tensor v = t(x);
                    return v.mul(torch.sigmoid(v.mul(new Scalar(1.702))));
                });
            case GELU:
                return wrap(() -> torch.gelu(t(x), "none"));
            case GELU_TANH:
                return wrap(() -> torch.gelu(t(x), "tanh"));
            default:
                throw new AssertionError(activation);
        }
    }

    @Override
    public dev.visiontower.api.Tensor softmax(dev.visiontower.api.Tensor x, int dim) {
        ShapeRules.dim("softmax", dim, sh(x).length);
        return wrap(() -> torch.softmax(t(x), dim));
    }

    @Override
    public dev.visiontower.api.Tensor attention(dev.visiontower.api.Tensor q, dev.visiontower.api.Tensor k,
                                                dev.visiontower.api.Tensor v, dev.visiontower.api.Tensor mask,
                                                boolean causal, double scale) {
        ShapeRules.attention(sh(q), sh(k), sh(v), sh(mask));
        return wrap(() -> attentionNative(t(q), t(k), t(v), mask == null ? null : t(mask), causal, scale));
    }

    /** Attention on native tensors ({@code [B, H, N, Dh]}, any strides); runs inside the caller's pointer scope. */
    Tensor attentionNative(Tensor tq, Tensor tk, Tensor tv, Tensor mask, boolean causal, double scale) {
        long nq = tq.size(2);
        long nk = tk.size(2);
        Tensor m = mask;
        if (causal) {
            Tensor upper = torch.ones(nq, nk).triu(1).gt(new Scalar(0.5));
            Tensor causalMask = torch.zeros(nq, nk).masked_fill(upper, new Scalar(Double.NEGATIVE_INFINITY))
                    .to(torchDevice, tq.scalar_type().intern());
            m = m == null ? causalMask : m.add(causalMask);
        }
        if (tq.requires_grad() || tk.requires_grad() || tv.requires_grad()) {
            // training: the eager composition (as Hugging Face's eager attention), whose gradients match the
            // reference implementations' to rounding; the fused kernel accumulates in another order
            Tensor scores = torch.matmul(tq, tk.transpose(-2, -1)).mul(new Scalar(scale));
            if (m != null) {
                scores = scores.add(m);
            }
            return torch.matmul(torch.softmax(scores, -1), tv);
        }
        return torch.scaled_dot_product_attention(tq, tk, tv, m == null ? new TensorOptional() : new TensorOptional(m),
                0.0, false, new DoubleOptional(scale), false);
    }

    @Override
    public dev.visiontower.api.Tensor patchEmbed(dev.visiontower.api.Tensor pixels, dev.visiontower.api.Tensor weight,
                                                 dev.visiontower.api.Tensor bias, int patch) {
        ShapeRules.patchEmbed(sh(pixels), sh(weight), patch);
        long[] s = pixels.shape();
        long[] w = weight.shape();
        return wrap(() -> {
            Tensor y = torch.conv2d(t(pixels), t(weight), opt(bias), new long[] {patch, patch}, new long[] {0, 0},
                    new long[] {1, 1}, 1);
            long[] ys = y.shape();
            return y.reshape(ys[0], ys[1], ys[2] * ys[3]).permute(0, 2, 1);
        });
    }

    @Override
    public dev.visiontower.api.Tensor reshape(dev.visiontower.api.Tensor x, long... shape) {
        ShapeRules.reshape(sh(x), shape);
        return wrap(() -> t(x).reshape(shape));
    }

    @Override
    public dev.visiontower.api.Tensor permute(dev.visiontower.api.Tensor x, int... dims) {
        ShapeRules.permute(sh(x), dims);
        long[] d = Arrays.stream(dims).asLongStream().toArray();
        return wrap(() -> t(x).permute(d));
    }

    @Override
    public dev.visiontower.api.Tensor narrow(dev.visiontower.api.Tensor x, int dim, long start, long length) {
        ShapeRules.narrow(sh(x), dim, start, length);
        return wrap(() -> t(x).narrow(dim, start, length));
    }

    @Override
    public dev.visiontower.api.Tensor concat(List<dev.visiontower.api.Tensor> xs, int dim) {
        ShapeRules.concat(xs.stream().map(this::sh).toList(), dim);
        return wrap(() -> {
            Tensor[] arr = new Tensor[xs.size()];
            for (int i = 0; i < arr.length; i++) {
                arr[i] = t(xs.get(i));
            }
            return torch.cat(new TensorVector(arr), dim);
        });
    }

    @Override
    public dev.visiontower.api.Tensor expand(dev.visiontower.api.Tensor x, long... shape) {
        ShapeRules.expand(sh(x), shape);
        return wrap(() -> t(x).expand(shape));
    }

    @Override
    public dev.visiontower.api.Tensor mean(dev.visiontower.api.Tensor x, int dim) {
        ShapeRules.dim("mean", dim, sh(x).length);
        return wrap(() -> t(x).mean(new long[] {dim}, false, new ScalarTypeOptional()));
    }

    @Override
    public dev.visiontower.api.Tensor l2Normalize(dev.visiontower.api.Tensor x, int dim, double eps) {
        ShapeRules.dim("l2Normalize", dim, sh(x).length);
        return wrap(() -> {
            Tensor v = t(x);
            Tensor n = torch.linalg_vector_norm(v, new Scalar(2.0), new long[] {dim}, true, new ScalarTypeOptional());
            return v.div(n.clamp_min(new Scalar(eps)));
        });
    }

    @Override
    public dev.visiontower.api.Tensor resizeBicubic(dev.visiontower.api.Tensor x, int outH, int outW) {
        ShapeRules.resize(sh(x), outH, outW);
        return wrap(() -> torch.upsample_bicubic2d(t(x), new long[] {outH, outW}, false));
    }

    @Override
    public dev.visiontower.api.Tensor embedding(dev.visiontower.api.Tensor table, dev.visiontower.api.Tensor ids) {
        ShapeRules.embedding(sh(table), sh(ids));
        return wrap(() -> torch.embedding(t(table), t(ids)));
    }

    @Override
    public dev.visiontower.api.Tensor argmax(dev.visiontower.api.Tensor x, int dim) {
        ShapeRules.dim("argmax", dim, sh(x).length);
        return wrap(() -> torch.argmax(t(x), new org.bytedeco.pytorch.LongOptional(dim), false));
    }

    @Override
    public dev.visiontower.api.Tensor equalTo(dev.visiontower.api.Tensor x, double value) {
        return wrap(() -> t(x).eq(new Scalar(value)).to(torchDevice, computeType));
    }

    @Override
    public dev.visiontower.api.Tensor gatherRows(dev.visiontower.api.Tensor x, dev.visiontower.api.Tensor index) {
        ShapeRules.gatherRows(sh(x), sh(index));
        long b = x.dim(0);
        return wrap(() -> {
            Tensor rows = torch.arange(new Scalar(b), new TensorOptions(torch.ScalarType.Long)
                    .device(new org.bytedeco.pytorch.DeviceOptional(torchDevice)));
            Tensor flat = t(x).reshape(-1, x.rank() > 2 ? t(x).shape()[2] : 1);
            Tensor pos = rows.mul(new Scalar(x.dim(1))).add(t(index));
            Tensor picked = flat.index_select(0, pos);
            long[] out = new long[x.rank() - 1];
            out[0] = b;
            for (int i = 2; i < x.rank(); i++) {
                out[i - 1] = x.dim(i);
            }
            return picked.reshape(out);
        });
    }

    @Override
    public dev.visiontower.api.Tensor paddingMask(dev.visiontower.api.Tensor keep) {
        ShapeRules.paddingMask(sh(keep));
        double min = computeType == torch.ScalarType.Float ? -Float.MAX_VALUE
                : computeType == torch.ScalarType.BFloat16 ? -3.3895313892515355e38 : -65504.0;
        long b = keep.dim(0);
        long n = keep.dim(1);
        return wrap(() -> {
            Tensor k = t(keep).to(torchDevice, computeType);
            return k.neg().add(new Scalar(1.0)).mul(new Scalar(min)).reshape(b, 1, 1, n);
        });
    }

    @Override
    public dev.visiontower.api.Tensor exp(dev.visiontower.api.Tensor x) {
        return wrap(() -> torch.exp(t(x)));
    }

    @Override
    public dev.visiontower.api.Tensor logSoftmax(dev.visiontower.api.Tensor x, int dim) {
        ShapeRules.dim("logSoftmax", dim, sh(x).length);
        return wrap(() -> torch.log_softmax(t(x), dim));
    }

    @Override
    public dev.visiontower.api.Tensor logSigmoid(dev.visiontower.api.Tensor x) {
        return wrap(() -> torch.log_sigmoid(t(x)));
    }

    @Override
    public dev.visiontower.api.Tensor sum(dev.visiontower.api.Tensor x) {
        return wrap(() -> t(x).sum());
    }

    @Override
    public dev.visiontower.api.Tensor diagonal(dev.visiontower.api.Tensor x) {
        ShapeRules.diagonal(sh(x));
        return wrap(() -> torch.diagonal(t(x), 0, 0, 1));
    }
}
