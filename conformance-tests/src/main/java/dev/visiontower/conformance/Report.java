package dev.visiontower.conformance;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The kit's results: a check x backend matrix for people, JSON for machines. */
public final class Report {
    private final List<CheckResult> results;

    Report(List<CheckResult> results) {
        this.results = List.copyOf(results);
    }

    public List<CheckResult> results() {
        return results;
    }

    public long count(Outcome o) {
        return results.stream().filter(r -> r.outcome() == o).count();
    }

    /** True when nothing failed. */
    public boolean passed() {
        return count(Outcome.FAIL) == 0;
    }

    /** The matrix: one row per check, one column per backend (or pair), then every failure's detail. */
    public void print(PrintWriter out) {
        Set<String> backends = new LinkedHashSet<>();
        Set<String> checks = new LinkedHashSet<>();
        Map<String, CheckResult> cell = new LinkedHashMap<>();
        for (CheckResult r : results) {
            backends.add(r.backend());
            checks.add(r.check());
            cell.put(r.check() + "\u0000" + r.backend(), r);
        }
        List<String> cols = new ArrayList<>(backends);
        int w0 = Math.max(5, checks.stream().mapToInt(String::length).max().orElse(5));
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-" + w0 + "s", "CHECK"));
        for (String c : cols) {
            head.append("  ").append(String.format(Locale.ROOT, "%-12s", c));
        }
        out.println(head.toString().stripTrailing());
        for (String check : checks) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-" + w0 + "s", check));
            for (String c : cols) {
                CheckResult r = cell.get(check + "\u0000" + c);
                line.append("  ").append(String.format(Locale.ROOT, "%-12s", r == null ? "" : r.outcome()));
            }
            out.println(line.toString().stripTrailing());
        }
        out.printf(Locale.ROOT, "%d passed, %d failed, %d skipped, %d unsupported%n", count(Outcome.PASS),
                count(Outcome.FAIL), count(Outcome.SKIP), count(Outcome.UNSUPPORTED));
        for (CheckResult r : results) {
            if (r.outcome() != Outcome.PASS) {
                out.println(r.outcome() + " " + r.check() + " [" + r.backend() + "]: " + r.detail());
            }
        }
        out.flush();
    }

    /** The report as JSON: {@code {"summary": {...}, "results": [{backend, check, outcome, detail, ...}]}}. */
    public String toJson() {
        Map<String, Object> doc = new LinkedHashMap<>();
        Map<String, Object> summary = new LinkedHashMap<>();
        for (Outcome o : Outcome.values()) {
            summary.put(o.name().toLowerCase(Locale.ROOT), count(o));
        }
        doc.put("summary", summary);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (CheckResult r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("backend", r.backend());
            m.put("check", r.check());
            m.put("outcome", r.outcome().name());
            m.put("detail", r.detail());
            m.put("max_abs", Double.isNaN(r.maxAbs()) ? null : r.maxAbs());
            m.put("cosine", Double.isNaN(r.cosine()) ? null : r.cosine());
            rows.add(m);
        }
        doc.put("results", rows);
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
