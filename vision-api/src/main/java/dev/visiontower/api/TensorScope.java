package dev.visiontower.api;

/**
 * Owns every tensor created on the current thread by its backend while it is the innermost open scope, and closes
 * them when it closes. Use with try-with-resources:
 *
 * <pre>{@code
 * try (TensorScope scope = backend.newScope()) {
 *     Tensor h = ops.layerNorm(x, w, b, 1e-5);
 *     Tensor y = ops.linear(h, weight, bias);
 *     return scope.keep(y);        // y survives; h is closed with the scope
 * }
 * }</pre>
 *
 * A kept tensor moves to the enclosing scope if one is open on this thread, otherwise the caller owns it and must
 * close it. Closing a scope twice is harmless.
 */
public interface TensorScope extends AutoCloseable {

    /** Takes {@code tensor} out of this scope so it outlives it; returns it for chaining. */
    <T extends Tensor> T keep(T tensor);

    /** Number of tensors this scope still owns. */
    int size();

    @Override
    void close();
}
