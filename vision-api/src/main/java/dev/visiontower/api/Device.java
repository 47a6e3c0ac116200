package dev.visiontower.api;

import java.util.Locale;

/**
 * Where a backend computes: {@code cpu} or {@code cuda:N}.
 *
 * @param kind  the device kind
 * @param index the device ordinal (0 for the CPU)
 */
public record Device(Kind kind, int index) {

    /** Device kinds. */
    public enum Kind { CPU, CUDA }

    public static final Device CPU = new Device(Kind.CPU, 0);

    public Device {
        if (kind == null) {
            throw new IllegalArgumentException("device kind is null");
        }
        if (index < 0) {
            throw new IllegalArgumentException("device index must be >= 0, got " + index);
        }
    }

    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    /** Parses {@code cpu}, {@code cuda} or {@code cuda:N}. */
    public static Device parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return CPU;
        }
        if (s.equals("cuda") || s.equals("gpu")) {
            return cuda(0);
        }
        if (s.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new InvalidInputException("unknown device '" + text + "', expected cpu, cuda or cuda:N");
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
