package dev.visiontower.api.spi;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Tensor;

/**
 * The one check every backend makes on an operand before using it: that it is one of its own tensors. A tensor of
 * another backend (or of another instance of the same backend) is a usage error with the same message everywhere.
 */
public final class Operands {
    private Operands() {
    }

    /**
     * {@code t} as the backend's own tensor type.
     *
     * @throws IllegalArgumentException when {@code t} is null or belongs to another backend
     */
    public static <T extends Tensor> T own(Backend backend, Class<T> type, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException("a tensor is required, got null (backend '" + backend.name() + "')");
        }
        if (!type.isInstance(t) || t.backend() != backend) {
            throw new IllegalArgumentException(foreign(backend, t));
        }
        return type.cast(t);
    }

    /** The message for a tensor of another backend. */
    public static String foreign(Backend backend, Tensor t) {
        Backend other = t.backend();
        String from = other == null ? "no backend (" + t.getClass().getSimpleName() + ")"
                : other.name().equals(backend.name()) ? "another '" + other.name() + "' backend instance"
                : "backend '" + other.name() + "'";
        return "a tensor of " + from + " was passed to backend '" + backend.name() + "': a tensor belongs to the "
                + "backend that made it (copy it with toHost() and fromHost())";
    }
}
