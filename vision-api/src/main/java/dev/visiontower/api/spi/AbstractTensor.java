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

    /** Data a backend derived from this tensor once (packed or quantised copies of a weight), released with it. */
    private java.util.Map<String, AutoCloseable> derived;

    /**
     * The value derived from this tensor under {@code key}: made by {@code make} the first time, and again (the old one
     * closed) when {@code stale} says the one held no longer fits, e.g. after the tensor changed in place. Everything
     * derived is closed with the tensor.
     *
     * @throws IllegalStateException if this tensor is closed
     */
    protected final synchronized <T extends AutoCloseable> T derived(String key, Class<T> type,
                                                                      java.util.function.Supplier<T> make,
                                                                      java.util.function.Predicate<T> stale) {
        checkOpen();
        if (derived == null) {
            derived = new java.util.HashMap<>();
        }
        AutoCloseable held = derived.get(key);
        if (type.isInstance(held) && !stale.test(type.cast(held))) {
            return type.cast(held);
        }
        if (held != null) {
            derived.remove(key);
            closeDerived(held);
        }
        T made = make.get();
        derived.put(key, made);
        return made;
    }

    private static void closeDerived(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            throw new IllegalStateException("releasing data derived from a tensor failed", e);
        }
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                release(); // first: a backend may stop what reads derived data (compiled graphs) here
                synchronized (this) {
                    if (derived != null) {
                        derived.values().forEach(AbstractTensor::closeDerived);
                        derived = null;
                    }
                }
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
