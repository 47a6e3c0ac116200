package dev.visiontower.api.spi;

import dev.visiontower.api.Backend;
import java.util.Set;

/**
 * A numeric backend, found with {@link java.util.ServiceLoader}. Declare it with
 * {@code provides dev.visiontower.api.spi.BackendProvider with ...} in {@code module-info.java} (and a
 * {@code META-INF/services} entry, e.g. via auto-service, for class-path users).
 *
 * <p>Implementations must be cheap to construct: no native loading or heavy work in constructors or static
 * initialisers. {@link #probe()} may load natives, must never crash the JVM, and reports failure as a reason.
 */
public interface BackendProvider {

    /** A short unique name, e.g. {@code libtorch}, {@code onnx}, {@code jcuda}. */
    String name();

    /** Higher wins when no backend is named explicitly. */
    int priority();

    /** What the backend supports (regardless of whether it is available here). */
    Set<Capability> capabilities();

    /** Checks whether the backend can run here. Called at most once per provider instance by the library. */
    Availability probe();

    /**
     * The backend-specific options ({@link BackendOptions#extra()}) this backend reads. Keys it does not declare and
     * values outside the declared ones are refused by {@link dev.visiontower.api.Backends#open} before
     * {@link #open} is called, so a typo never goes unnoticed.
     */
    default java.util.List<OptionSpec> options() {
        return java.util.List.of();
    }

    /**
     * Opens a backend; throws {@link dev.visiontower.api.BackendUnavailableException} if it cannot. The options'
     * {@code extra} holds only declared keys, values checked and in lower case.
     */
    Backend open(BackendOptions options);
}
