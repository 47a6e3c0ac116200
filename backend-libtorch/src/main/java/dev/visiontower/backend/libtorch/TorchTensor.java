package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.spi.AbstractTensor;
import dev.visiontower.api.spi.TensorRegistry;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;

/** A libtorch tensor; {@link #close()} drops our reference to its storage at once. */
final class TorchTensor extends AbstractTensor {
    private final TorchBackend backend;
    private final Tensor native_;

    /** A model weight (long-lived, never in a scope): data derived from it is worth keeping. */
    final boolean parameter;

    TorchTensor(TorchBackend backend, TensorRegistry registry, Tensor t, boolean scoped) {
        super(registry, t.shape(), dtypeOf(t.scalar_type().intern()), scoped);
        this.backend = backend;
        this.native_ = t;
        this.parameter = !scoped;
    }

    static DType dtypeOf(ScalarType s) {
        switch (s) {
            case Float: return DType.FLOAT32;
            case Half: return DType.FLOAT16;
            case BFloat16: return DType.BFLOAT16;
            case Double: return DType.FLOAT64;
            case Long: return DType.INT64;
            case Int: return DType.INT32;
            case Byte: return DType.UINT8;
            default: throw new IllegalStateException("unsupported libtorch dtype " + s);
        }
    }

    /** The native tensor; throws if closed. */
    Tensor t() {
        checkOpen();
        return native_;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public HostTensor toHost() {
        checkOpen();
        long[] shape = native_.shape();
        try (PointerScope ignored = new PointerScope()) {
            DType dt = dtypeOf(native_.scalar_type().intern());
            Tensor c;
            switch (dt) {
                case FLOAT32: case FLOAT16: case BFLOAT16: case FLOAT64: {
                    c = native_.detach().to(new org.bytedeco.pytorch.Device(
                            org.bytedeco.pytorch.global.torch.DeviceType.CPU), ScalarType.Float).contiguous();
                    float[] out = new float[(int) c.numel()];
                    if (out.length > 0) {
                        FloatBuffer b = c.createBuffer();
                        b.get(out);
                    }
                    return HostTensor.ofFloats(out, shape);
                }
                case INT64: case INT32: {
                    c = native_.to(new org.bytedeco.pytorch.Device(org.bytedeco.pytorch.global.torch.DeviceType.CPU),
                            ScalarType.Long).contiguous();
                    long[] out = new long[(int) c.numel()];
                    if (out.length > 0) {
                        LongBuffer b = c.createBuffer();
                        b.get(out);
                    }
                    return HostTensor.ofLongs(out, shape);
                }
                case UINT8: {
                    c = native_.cpu().contiguous();
                    byte[] out = new byte[(int) c.numel()];
                    if (out.length > 0) {
                        ByteBuffer b = c.createBuffer();
                        b.get(out);
                    }
                    return HostTensor.ofBytes(out, shape);
                }
                default:
                    throw new IllegalStateException("unsupported dtype " + dt);
            }
        }
    }

    /** Packed copies of this weight for oneDNN ({@link AbstractTensor#derived}), visible to this package. */
    <T extends AutoCloseable> T packed(String key, Class<T> type, java.util.function.Supplier<T> make,
                                       java.util.function.Predicate<T> stale) {
        return derived(key, type, make, stale);
    }

    /** libtorch's version counter of this tensor's data: it grows with every in-place change. */
    long version() {
        checkOpen();
        return native_.__dispatch__version();
    }

    @Override
    protected void release() {
        native_.releaseReference();
    }
}
