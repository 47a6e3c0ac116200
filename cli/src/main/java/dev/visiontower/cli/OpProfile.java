package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Device;
import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.nn.AttentionPool;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.LayerFactory;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.PatchEmbedding;
import dev.visiontower.api.nn.TransformerBlock;
import dev.visiontower.api.spi.Capability;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * Per-operation wall time of an eager backend ({@code bench --profile}): a backend view whose {@link Ops} and layers
 * time every call. Operations nested in a layer are counted in the layer too, so a layer's "own" time is what its
 * operations do not account for (a fused layer's kernels, or the glue between operations). Only meaningful where
 * operations run when called (libtorch, jcuda with synchronisation); a graph backend records instead of computing.
 */
final class OpProfile {
    /** Totals per name: calls and nanoseconds. */
    private final Map<String, long[]> totals = new LinkedHashMap<>();

    Backend wrap(Backend inner) {
        Ops timed = (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class},
                (proxy, method, args) -> time("op " + method.getName() + shapes(args), () -> {
                    try {
                        return method.invoke(inner.ops(), args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                }));
        LayerFactory layers = new LayerFactory() {
            @Override
            public PatchEmbedding patchEmbedding(int patchSize, Parameters params, Ops ops) {
                PatchEmbedding p = inner.layers().patchEmbedding(patchSize, params, ops);
                return pixels -> time("layer patch_embedding", () -> p.embed(pixels));
            }

            @Override
            public TransformerBlock block(BlockSpec spec, Parameters params, Ops ops) {
                TransformerBlock b = inner.layers().block(spec, params, ops);
                return (x, mask) -> time("layer block", () -> b.forward(x, mask));
            }

            @Override
            public AttentionPool attentionPool(BlockSpec spec, Parameters params, Ops ops) {
                AttentionPool a = inner.layers().attentionPool(spec, params, ops);
                return x -> time("layer attention_pool", () -> a.pool(x));
            }
        };
        return new Backend() {
            @Override public String name() { return inner.name(); }
            @Override public Device device() { return inner.device(); }
            @Override public DType dtype() { return inner.dtype(); }
            @Override public Set<Capability> capabilities() { return inner.capabilities(); }
            @Override public Tolerance tolerance() { return inner.tolerance(); }
            @Override public String description() { return inner.description(); }
            @Override public OptionalDouble peakTflops() { return inner.peakTflops(); }
            @Override public Ops ops() { return timed; }
            @Override public LayerFactory layers() { return layers; }
            @Override public Tensor fromHost(HostTensor host) { return inner.fromHost(host); }
            @Override public Tensor parameter(String name, HostTensor host) { return inner.parameter(name, host); }
            @Override public TensorScope newScope() { return inner.newScope(); }
            @Override public long liveTensors() { return inner.liveTensors(); }
            @Override public void close() { inner.close(); }
        };
    }

    /** The shapes of the tensor arguments, e.g. {@code [8,197,768] [768,768]}. */
    private static String shapes(Object[] args) {
        StringBuilder sb = new StringBuilder();
        for (Object a : args == null ? new Object[0] : args) {
            if (a instanceof Tensor) {
                sb.append(' ').append(java.util.Arrays.toString(((Tensor) a).shape()).replace(" ", ""));
            }
        }
        return sb.toString();
    }

    interface Body<T> {
        T run() throws Throwable;
    }

    @SuppressWarnings("unchecked")
    private <T> T time(String name, Body<T> body) {
        long t0 = System.nanoTime();
        try {
            return body.run();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        } finally {
            long[] t = totals.computeIfAbsent(name, k -> new long[2]);
            t[0]++;
            t[1] += System.nanoTime() - t0;
        }
    }

    void reset() {
        totals.clear();
    }

    /** Rows: name, calls, total ms, share of the pass (per pass, over {@code passes} passes of {@code passMs}). */
    List<Map<String, Object>> rows(int passes, double passMs) {
        List<Map<String, Object>> out = new ArrayList<>();
        totals.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
                .forEach(e -> {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("name", e.getKey());
                    r.put("calls_per_pass", e.getValue()[0] / (double) passes);
                    double ms = e.getValue()[1] / 1e6 / passes;
                    r.put("ms_per_pass", ms);
                    r.put("share", ms / passMs);
                    out.add(r);
                });
        return out;
    }
}
