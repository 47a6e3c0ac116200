package dev.visiontower.api;

import dev.visiontower.api.spi.Availability;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.BackendProvider;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.OptionSpec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Finds backends with {@link ServiceLoader} and selects one.
 *
 * <p>Selection order: the name passed explicitly, then the system property {@value #PROPERTY}, then the environment
 * variable {@value #ENV}, then the available provider with the highest priority. A backend that was named and is not
 * available fails with {@link BackendUnavailableException} listing every provider and its reason; another backend is
 * never substituted silently.
 */
public final class Backends {
    /** System property naming the backend to use. */
    public static final String PROPERTY = "visiontower.backend";
    /** Environment variable naming the backend to use (after the system property). */
    public static final String ENV = "VISIONTOWER_BACKEND";

    private static final ConcurrentHashMap<String, Availability> PROBES = new ConcurrentHashMap<>();

    private Backends() {
    }

    /** A provider with its probe result. */
    public record Info(String name, int priority, Set<Capability> capabilities, Availability availability,
                       BackendProvider provider) {
        public boolean available() {
            return availability.available();
        }
    }

    /** Every provider on the module or class path, probed (once per JVM), highest priority first. */
    public static List<Info> list() {
        List<Info> out = new ArrayList<>();
        for (BackendProvider p : Providers.load(BackendProvider.class)) {
            Availability a = PROBES.computeIfAbsent(p.name(), n -> safeProbe(p));
            out.add(new Info(p.name(), p.priority(), Set.copyOf(p.capabilities()), a, p));
        }
        out.sort(Comparator.comparingInt(Info::priority).reversed().thenComparing(Info::name));
        return out;
    }

    private static Availability safeProbe(BackendProvider p) {
        try {
            Availability a = p.probe();
            return a == null ? Availability.unavailable("probe returned nothing") : a;
        } catch (Throwable t) { // a probe must never take the caller down, whatever the native layer throws
            return Availability.unavailable(t.getClass().getSimpleName() + ": " + t.getMessage());
        }
    }

    /** The backend name that would be used: explicit, property, environment, or null for "highest priority". */
    public static String requestedName(String explicit) {
        if (explicit != null && !explicit.isBlank()) {
            return explicit.trim();
        }
        String prop = System.getProperty(PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return prop.trim();
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        return null;
    }

    /** Selects a provider following the rules above. */
    public static Info select(String explicit) {
        List<Info> all = list();
        String wanted = requestedName(explicit);
        if (wanted != null) {
            String key = wanted.toLowerCase(Locale.ROOT);
            for (Info i : all) {
                if (i.name().toLowerCase(Locale.ROOT).equals(key)) {
                    if (!i.available()) {
                        throw new BackendUnavailableException("backend '" + wanted + "' is not available: "
                                + i.availability().reason() + ". Providers: " + describe(all));
                    }
                    return i;
                }
            }
            throw new BackendUnavailableException("unknown backend '" + wanted + "', expected one of "
                    + all.stream().map(Info::name).collect(Collectors.toList()) + ". Providers: " + describe(all));
        }
        for (Info i : all) {
            if (i.available()) {
                return i;
            }
        }
        throw new BackendUnavailableException(all.isEmpty()
                ? "no backend found: put a backend module (e.g. backend-libtorch) on the module path"
                : "no backend is available. Providers: " + describe(all));
    }

    /** Selects and opens a backend on {@code device}. */
    public static Backend open(String explicit, Device device) {
        return open(explicit, BackendOptions.defaults().withDevice(device));
    }

    /**
     * Selects and opens a backend with options. With no backend named, the highest-priority available one that has
     * the requested device is chosen (so {@code cuda} picks a GPU backend even when a CPU-only one ranks higher).
     */
    public static Backend open(String explicit, BackendOptions options) {
        Info info = null;
        if (requestedName(explicit) == null) {
            for (Info i : list()) {
                if (i.available() && i.availability().devices().contains(options.device())) {
                    info = i;
                    break;
                }
            }
        }
        if (info == null) {
            info = select(explicit);
        }
        if (!info.availability().devices().isEmpty() && !info.availability().devices().contains(options.device())) {
            throw new BackendUnavailableException("backend '" + info.name() + "' has no device "
                    + options.device() + "; devices here: " + info.availability().devices());
        }
        return info.provider().open(options.withExtra(checkedOptions(info.provider(), options.extra())));
    }

    /**
     * The options {@code provider} gets from {@code extra}: keys prefixed with its name ({@code onnx.fusions}) lose the
     * prefix, keys prefixed with another backend's name are left out, every other key must be one it declares and
     * its value one of the declared values.
     *
     * @throws InvalidInputException for an unknown key or value, listing what the backend accepts
     */
    public static Map<String, String> checkedOptions(BackendProvider provider, Map<String, String> extra) {
        Map<String, OptionSpec> declared = new LinkedHashMap<>();
        provider.options().forEach(o -> declared.put(o.name(), o));
        Set<String> others = new HashSet<>();
        Providers.load(BackendProvider.class).forEach(p -> others.add(p.name()));
        others.remove(provider.name());
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : extra.entrySet()) {
            String key = e.getKey().trim();
            int dot = key.indexOf('.');
            if (dot > 0 && key.substring(0, dot).equals(provider.name())) {
                key = key.substring(dot + 1);
            } else if (dot > 0 && others.contains(key.substring(0, dot))) {
                continue; // meant for another backend
            }
            OptionSpec spec = declared.get(key);
            if (spec == null) {
                throw new InvalidInputException("backend '" + provider.name() + "' has no option '" + e.getKey()
                        + "', expected one of " + (declared.isEmpty() ? "(none: it takes no options)"
                        : declared.values().stream().map(o -> o.name() + "=" + o.accepted())
                        .collect(Collectors.joining(", ", "[", "]"))));
            }
            out.put(key, spec.check(provider.name(), e.getValue()));
        }
        return out;
    }

    private static String describe(List<Info> all) {
        return all.stream()
                .map(i -> i.name() + " (" + (i.available() ? "available" : "unavailable: "
                        + i.availability().reason()) + ")")
                .collect(Collectors.joining("; ", "[", "]"));
    }
}
