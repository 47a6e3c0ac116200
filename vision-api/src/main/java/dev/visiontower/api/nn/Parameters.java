package dev.visiontower.api.nn;

import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The weights of a model by canonical name, owned by the model: closing closes every tensor. A {@link #view(String)}
 * reads a prefix (e.g. {@code blocks.3.}) and owns nothing.
 */
public final class Parameters implements AutoCloseable {
    private final Map<String, Tensor> tensors;
    private final String prefix;
    private final boolean owner;

    public Parameters(Map<String, Tensor> tensors) {
        this(Collections.unmodifiableMap(new LinkedHashMap<>(tensors)), "", true);
    }

    private Parameters(Map<String, Tensor> tensors, String prefix, boolean owner) {
        this.tensors = tensors;
        this.prefix = prefix;
        this.owner = owner;
    }

    /**
     * Uploads weights one at a time as backend parameters, checking each shape; on failure everything uploaded so far
     * is released.
     */
    public static Parameters load(Map<String, long[]> shapes, dev.visiontower.api.checkpoint.WeightSource weights,
                                  dev.visiontower.api.Backend backend) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                dev.visiontower.api.HostTensor host = weights.load(e.getKey());
                if (!java.util.Arrays.equals(host.shape(), e.getValue())) {
                    throw new dev.visiontower.api.InvalidInputException("weight '" + weights.describe(e.getKey())
                            + "': expected shape " + Shapes.format(e.getValue()) + ", got " + Shapes.format(host.shape()));
                }
                tensors.put(e.getKey(), backend.parameter(e.getKey(), host));
            }
        } catch (RuntimeException e) {
            tensors.values().forEach(Tensor::close);
            throw e;
        }
        return new Parameters(tensors);
    }

    /** A view of the names under {@code prefix} (which should end with a dot). */
    public Parameters view(String sub) {
        return new Parameters(tensors, prefix + sub, false);
    }

    /** The tensor named {@code prefix + name}; throws if absent. */
    public Tensor get(String name) {
        Tensor t = tensors.get(prefix + name);
        if (t == null) {
            throw new IllegalStateException("model has no parameter '" + prefix + name + "'");
        }
        return t;
    }

    /** The tensor or null when absent (optional weights such as biases). */
    public Tensor optional(String name) {
        return tensors.get(prefix + name);
    }

    public boolean has(String name) {
        return tensors.containsKey(prefix + name);
    }

    /** All tensors by full name (read-only). */
    public Map<String, Tensor> all() {
        return tensors;
    }

    /** Total number of scalar weights. */
    public long count() {
        long n = 0;
        for (Tensor t : tensors.values()) {
            n += Shapes.numel(t.shape());
        }
        return n;
    }

    @Override
    public void close() {
        if (owner) {
            for (Tensor t : tensors.values()) {
                t.close();
            }
        }
    }
}
