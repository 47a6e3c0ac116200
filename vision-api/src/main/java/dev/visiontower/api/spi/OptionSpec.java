package dev.visiontower.api.spi;

import dev.visiontower.api.InvalidInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One backend-specific option ({@link BackendOptions#extra()}): its name, its kind, the values it takes, its default
 * and what it does. A backend declares its options in {@link BackendProvider#options()};
 * {@link dev.visiontower.api.Backends#open} refuses a key the backend does not declare and a value outside the
 * declared ones, naming what is expected, before the backend sees them.
 *
 * @param values the values a {@link Kind#CHOICE} takes, or the items of a {@link Kind#LIST}
 */
public record OptionSpec(String name, Kind kind, List<String> values, String defaultValue, String description) {

    /** What values an option takes. */
    public enum Kind {
        /** {@code true} or {@code false}. */
        BOOLEAN,
        /** One of {@link #values()}. */
        CHOICE,
        /** {@code all}, {@code none}, or a comma-separated list of {@link #values()}. */
        LIST
    }

    public OptionSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        values = List.copyOf(values);
        Objects.requireNonNull(defaultValue, "defaultValue");
        Objects.requireNonNull(description, "description");
    }

    public static OptionSpec bool(String name, boolean defaultValue, String description) {
        return new OptionSpec(name, Kind.BOOLEAN, List.of("true", "false"), Boolean.toString(defaultValue),
                description);
    }

    public static OptionSpec choice(String name, String defaultValue, String description, String... values) {
        return new OptionSpec(name, Kind.CHOICE, List.of(values), defaultValue, description);
    }

    public static OptionSpec list(String name, String defaultValue, String description, String... items) {
        return new OptionSpec(name, Kind.LIST, List.of(items), defaultValue, description);
    }

    /** The accepted values in words, e.g. {@code true|false} or {@code all|none|a,b,c}. */
    public String accepted() {
        return kind == Kind.LIST ? "all|none|" + String.join(",", values) : String.join("|", values);
    }

    /**
     * {@code value} checked (case-insensitively, trimmed) and normalised to lower case.
     *
     * @throws InvalidInputException naming the backend, the option and the accepted values
     */
    public String check(String backend, String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (kind == Kind.LIST) {
            if (v.equals("all") || v.equals("none")) {
                return v;
            }
            List<String> items = new ArrayList<>();
            for (String part : v.split(",")) {
                String p = part.trim();
                if (!values.contains(p)) {
                    throw new InvalidInputException("backend '" + backend + "': option " + name + ": unknown item '"
                            + p + "', expected all, none or a comma-separated list of " + values);
                }
                items.add(p);
            }
            return String.join(",", items);
        }
        if (!values.contains(v)) {
            throw new InvalidInputException("backend '" + backend + "': option " + name + "=" + value
                    + " is not allowed, expected one of " + values);
        }
        return v;
    }
}
