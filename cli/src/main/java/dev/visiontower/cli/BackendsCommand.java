package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.visiontower.api.Backends;
import dev.visiontower.api.spi.OptionSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code visiontower backends}: every provider with its availability. */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = "List every backend on the module path, available or not, with the reason.")
final class BackendsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print a JSON list instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<Backends.Info> all = Backends.list();
        var out = spec.commandLine().getOut();
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Backends.Info i : all) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", i.name());
                m.put("available", i.available());
                m.put("reason", i.availability().reason());
                m.put("priority", i.priority());
                m.put("devices", i.availability().devices().stream().map(Object::toString).collect(Collectors.toList()));
                m.put("capabilities", new TreeSet<>(i.capabilities().stream().map(c -> c.name().toLowerCase(java.util.Locale.ROOT))
                        .collect(Collectors.toList())));
                m.put("cpu", dev.visiontower.api.spi.CpuFeatures.current().toString());
                List<Map<String, Object>> options = new ArrayList<>();
                for (OptionSpec o : i.provider().options()) {
                    Map<String, Object> om = new LinkedHashMap<>();
                    om.put("name", o.name());
                    om.put("values", o.accepted());
                    om.put("default", o.defaultValue());
                    om.put("description", o.description());
                    options.add(om);
                }
                m.put("options", options);
                rows.add(m);
            }
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
            return 0;
        }
        if (all.isEmpty()) {
            out.println("no backend found on the module path");
            return 0;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "AVAILABLE", "PRIORITY", "DEVICES", "CAPABILITIES", "REASON"});
        for (Backends.Info i : all) {
            rows.add(new String[] {i.name(), i.available() ? "yes" : "no", Integer.toString(i.priority()),
                i.availability().devices().isEmpty() ? "-" : i.availability().devices().stream().map(Object::toString)
                        .collect(Collectors.joining(",")),
                i.capabilities().stream().map(c -> c.name().toLowerCase(java.util.Locale.ROOT)).sorted()
                        .collect(Collectors.joining(",")),
                i.availability().reason()});
        }
        Table.print(out, rows);
        List<String[]> opts = new ArrayList<>();
        opts.add(new String[] {"BACKEND", "OPTION (--option KEY=VALUE)", "VALUES", "DEFAULT"});
        for (Backends.Info i : all) {
            for (OptionSpec o : i.provider().options()) {
                opts.add(new String[] {i.name(), o.name(), o.accepted(), o.defaultValue()});
            }
        }
        if (opts.size() > 1) {
            out.println();
            Table.print(out, opts);
            out.println("(a key may carry a backend's name, e.g. onnx.fusions=none, to apply to that backend only)");
        }
        out.println("CPU: " + dev.visiontower.api.spi.CpuFeatures.current()
                + " (each engine picks its kernels from these; the reasons above name what they chose where known)");
        return 0;
    }
}
