package dev.visiontower.api;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Service providers as {@link ServiceLoader} finds them through the thread's context class loader (the module
 * layer, the class path, an application server's or Spark's user class loader) and through the class loader that
 * loaded this API. The second covers frameworks that leave another context loader on their threads, which would
 * otherwise see no backend and no family. Each provider class is kept once.
 */
final class Providers {
    private Providers() {
    }

    static <S> List<S> load(Class<S> type) {
        List<S> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        ClassLoader own = Providers.class.getClassLoader();
        for (ServiceLoader<S> loader : context == own || context == null ? List.of(ServiceLoader.load(type, own))
                : List.of(ServiceLoader.load(type), ServiceLoader.load(type, own))) {
            for (S s : loader) {
                if (seen.add(s.getClass().getName())) {
                    out.add(s);
                }
            }
        }
        return out;
    }
}
