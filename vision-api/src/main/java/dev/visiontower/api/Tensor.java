package dev.visiontower.api;

/**
 * A tensor owned by a backend (native, device or graph memory). Created by {@link Ops} and {@link Backend} methods;
 * released deterministically by {@link #close()} or by the {@link TensorScope} it was created in.
 *
 * <p>{@code close()} is idempotent. Any other method on a closed tensor throws {@link IllegalStateException}.
 */
public interface Tensor extends AutoCloseable {

    /** The dimensions. */
    long[] shape();

    /** Size of dimension {@code i}; negative indices count from the end. */
    default long dim(int i) {
        long[] s = shape();
        return s[i < 0 ? s.length + i : i];
    }

    default int rank() {
        return shape().length;
    }

    DType dtype();

    /** The backend that owns this tensor. */
    Backend backend();

    /** Copies the values to the Java heap (floating-point types as float32, integers as int64). */
    HostTensor toHost();

    boolean isClosed();

    /** Releases the memory now. Calling it again does nothing. */
    @Override
    void close();
}
