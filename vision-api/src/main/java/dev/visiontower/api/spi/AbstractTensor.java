package dev.visiontower.api.spi;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Base for backend tensors: idempotent {@link #close()}, use-after-close checks and registry accounting. Subclasses
 * release their memory in {@link #release()}.
 */
public abstract class AbstractTensor implements Tensor {
    private final AtomicBoolean closed = new AtomicBoolean();
    private final TensorRegistry registry;
    private final long[] shape;
    private final DType dtype;

    protected AbstractTensor(TensorRegistry registry, long[] shape, DType dtype, boolean scoped) {
        this.registry = registry;
        this.shape = shape.clone();
        this.dtype = dtype;
        registry.created(this, scoped);
    }

    @Override
    public long[] shape() {
        checkOpen();
        return shape.clone();
    }

    @Override
    public DType dtype() {
        checkOpen();
        return dtype;
    }

    /** The shape, readable after close (for backends whose graphs still refer to closed tensors). */
    protected final long[] rawShape() {
        return shape.clone();
    }

    /** The dtype, readable after close. */
    protected final DType rawDType() {
        return dtype;
    }

    @Override
    public boolean isClosed() {
        return closed.get();
    }

    /** Throws {@link IllegalStateException} if closed. */
    protected final void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("tensor " + Shapes.format(shape) + " " + dtype + " of backend '"
                    + backendName() + "' is closed");
        }
    }

    private String backendName() {
        Backend b = backend();
        return b == null ? "?" : b.name();
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                release();
            } finally {
                registry.released();
            }
        }
    }

    /** Frees the underlying memory; called once. */
    protected abstract void release();

    @Override
    public String toString() {
        return getClass().getSimpleName() + Shapes.format(shape) + " " + dtype + (isClosed() ? " (closed)" : "");
    }
}
