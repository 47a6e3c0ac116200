package dev.visiontower.api.checkpoint;

import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Translates a checkpoint's tensor names to a model's canonical names. Each canonical name has one rule: take a
 * tensor as is (reshaped when only size-1 dimensions differ, e.g. {@code [1,1,D] -> [D]}), transposed (OpenAI's
 * {@code x @ proj} matrices), or one of {@code n} equal row blocks (packed {@code in_proj_weight} split into q, k,
 * v). {@link #bind} checks the whole checkpoint before anything is loaded and reports every missing, unexpected and
 * mis-shaped tensor by name.
 */
public final class WeightMapping {
    /** System property: {@code true} loads weights holding NaN or infinities instead of refusing them. */
    public static final String ALLOW_NON_FINITE_PROPERTY = "visiontower.allowNonFiniteWeights";


    /** How a checkpoint tensor becomes a canonical one. */
    public enum Transform { AS_IS, TRANSPOSE, ROW_BLOCK }

    /** One rule. {@code block}/{@code blocks} are used by {@link Transform#ROW_BLOCK}. */
    public record Rule(String canonical, String source, Transform transform, int block, int blocks) {
    }

    private final Map<String, Rule> rules = new LinkedHashMap<>();
    private final List<Predicate<String>> ignored = new ArrayList<>();

    public WeightMapping map(String canonical, String source) {
        return add(new Rule(canonical, source, Transform.AS_IS, 0, 1));
    }

    public WeightMapping transposed(String canonical, String source) {
        return add(new Rule(canonical, source, Transform.TRANSPOSE, 0, 1));
    }

    /** Row block {@code block} of {@code blocks} equal blocks along dimension 0 of {@code source}. */
    public WeightMapping rowBlock(String canonical, String source, int block, int blocks) {
        return add(new Rule(canonical, source, Transform.ROW_BLOCK, block, blocks));
    }

    /**
     * Maps one transformer block in Hugging Face's CLIP-style encoder-layer naming (used by CLIP, SigLIP and their
     * relatives): {@code layer_norm1}, {@code self_attn.{q,k,v,out}_proj}, {@code layer_norm2}, {@code mlp.fc1},
     * {@code mlp.fc2}, each with weight and bias.
     *
     * @param canonical block prefix in the container, e.g. {@code blocks.3.}
     * @param source    layer prefix in the checkpoint, e.g. {@code vision_model.encoder.layers.3.}
     */
    public WeightMapping huggingFaceEncoderLayer(String canonical, String source) {
        for (String wb : new String[] {"weight", "bias"}) {
            map(canonical + "norm1." + wb, source + "layer_norm1." + wb);
            map(canonical + "attn.q." + wb, source + "self_attn.q_proj." + wb);
            map(canonical + "attn.k." + wb, source + "self_attn.k_proj." + wb);
            map(canonical + "attn.v." + wb, source + "self_attn.v_proj." + wb);
            map(canonical + "attn.proj." + wb, source + "self_attn.out_proj." + wb);
            map(canonical + "norm2." + wb, source + "layer_norm2." + wb);
            map(canonical + "mlp.fc1." + wb, source + "mlp.fc1." + wb);
            map(canonical + "mlp.fc2." + wb, source + "mlp.fc2." + wb);
        }
        return this;
    }

    /** Checkpoint names matching {@code regex} are expected and skipped (other towers, buffers, ...). */
    public WeightMapping ignore(String regex) {
        ignored.add(Pattern.compile(regex).asMatchPredicate());
        return this;
    }

    /** These exact checkpoint names are expected and skipped (tensors another part of the model reads). */
    public WeightMapping ignoreNames(java.util.Collection<String> names) {
        Set<String> set = Set.copyOf(names);
        ignored.add(set::contains);
        return this;
    }

    private WeightMapping add(Rule r) {
        if (rules.put(r.canonical(), r) != null) {
            throw new IllegalStateException("two rules for " + r.canonical());
        }
        return this;
    }

    public Map<String, Rule> rules() {
        return java.util.Collections.unmodifiableMap(rules);
    }

    /**
     * Checks {@code source} against the expected canonical shapes and returns a lazy weight source.
     *
     * @param strict also fail on checkpoint tensors that no rule uses and no ignore pattern covers
     * @throws CheckpointException listing every problem found
     */
    public WeightSource bind(TensorSource source, Map<String, long[]> expected, boolean strict, String where) {
        List<String> missing = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        Set<String> used = new LinkedHashSet<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            Rule r = rules.get(e.getKey());
            if (r == null) {
                throw new IllegalStateException("no mapping rule for canonical parameter " + e.getKey());
            }
            if (!source.contains(r.source())) {
                missing.add(r.source());
                continue;
            }
            used.add(r.source());
            long[] have = source.info(r.source()).shape();
            long[] got = transformedShape(r, have, e.getValue());
            if (got == null || !Arrays.equals(got, e.getValue())) {
                misShaped.add(r.source() + ": expected " + expectedSourceShape(r, e.getValue()) + ", got "
                        + Shapes.format(have));
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String n : source.names()) {
            if (!used.contains(n) && ignored.stream().noneMatch(p -> p.test(n))) {
                unexpected.add(n);
            }
        }
        List<String> problems = new ArrayList<>();
        if (!missing.isEmpty()) {
            problems.add("missing tensors " + missing);
        }
        if (!misShaped.isEmpty()) {
            problems.add("wrong shapes: " + String.join("; ", misShaped));
        }
        if (strict && !unexpected.isEmpty()) {
            problems.add("unexpected tensors " + unexpected);
        }
        if (!problems.isEmpty()) {
            throw new CheckpointException(where + ": checkpoint does not match the model: "
                    + String.join("; ", problems));
        }
        return new Bound(source, expected, where);
    }

    private static String expectedSourceShape(Rule r, long[] canonical) {
        switch (r.transform()) {
            case TRANSPOSE:
                return canonical.length == 2 ? Shapes.format(new long[] {canonical[1], canonical[0]})
                        : Shapes.format(canonical) + " transposed";
            case ROW_BLOCK: {
                long[] s = canonical.clone();
                s[0] *= r.blocks();
                return Shapes.format(s);
            }
            default:
                return Shapes.format(canonical);
        }
    }

    /** The canonical shape a rule produces from a checkpoint shape, or null if it cannot. */
    private static long[] transformedShape(Rule r, long[] have, long[] want) {
        switch (r.transform()) {
            case AS_IS:
                return squeezeEqual(have, want) ? want : have;
            case TRANSPOSE:
                return have.length == 2 ? new long[] {have[1], have[0]} : null;
            case ROW_BLOCK: {
                if (have.length == 0 || have[0] % r.blocks() != 0) {
                    return null;
                }
                long[] s = have.clone();
                s[0] /= r.blocks();
                return s;
            }
            default:
                throw new AssertionError(r.transform());
        }
    }

    /** Whether two shapes differ only by size-1 dimensions. */
    private static boolean squeezeEqual(long[] a, long[] b) {
        return Arrays.equals(Arrays.stream(a).filter(d -> d != 1).toArray(), Arrays.stream(b).filter(d -> d != 1).toArray())
                && Shapes.numel(a) == Shapes.numel(b);
    }

    /**
     * The inverse of loading: canonical tensors back under checkpoint names and shapes (reshaped, transposed back,
     * row blocks concatenated in order). Every rule's canonical tensor must be given.
     *
     * @param canonical     tensors by canonical name
     * @param sourceShapes  the checkpoint shape of each checkpoint name
     */
    public Map<String, HostTensor> export(Map<String, HostTensor> canonical, Map<String, long[]> sourceShapes) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        Map<String, HostTensor[]> blocks = new LinkedHashMap<>();
        for (Rule r : rules.values()) {
            HostTensor t = canonical.get(r.canonical());
            if (t == null) {
                continue;
            }
            long[] shape = sourceShapes.get(r.source());
            if (shape == null) {
                throw new IllegalStateException("no checkpoint shape for " + r.source());
            }
            switch (r.transform()) {
                case AS_IS:
                    out.put(r.source(), t.reshape(shape));
                    break;
                case TRANSPOSE: {
                    long rows = t.dim(0);
                    long cols = t.dim(1);
                    float[] in = t.floats();
                    float[] o = new float[in.length];
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < cols; j++) {
                            o[(int) (j * rows + i)] = in[(int) (i * cols + j)];
                        }
                    }
                    out.put(r.source(), HostTensor.ofFloats(o, cols, rows));
                    break;
                }
                case ROW_BLOCK:
                    blocks.computeIfAbsent(r.source(), k -> new HostTensor[r.blocks()])[r.block()] = t;
                    out.put(r.source(), null); // keep the checkpoint order
                    break;
                default:
                    throw new AssertionError(r.transform());
            }
        }
        for (Map.Entry<String, HostTensor[]> e : blocks.entrySet()) {
            for (HostTensor b : e.getValue()) {
                if (b == null) {
                    throw new IllegalStateException("missing row block of " + e.getKey());
                }
            }
            out.put(e.getKey(), HostTensor.concat0(java.util.List.of(e.getValue())).reshape(sourceShapes.get(e.getKey())));
        }
        return out;
    }

    private final class Bound implements WeightSource {
        private final TensorSource source;
        private final Map<String, long[]> expected;
        private final String where;

        Bound(TensorSource source, Map<String, long[]> expected, String where) {
            this.source = source;
            this.expected = expected;
            this.where = where;
        }

        @Override
        public HostTensor load(String canonical) {
            Rule r = rules.get(canonical);
            long[] want = expected.get(canonical);
            if (r == null || want == null) {
                throw new IllegalStateException("no weight bound for " + canonical);
            }
            HostTensor t = source.read(r.source());
            if (t.dtype() != dev.visiontower.api.DType.FLOAT32) {
                throw new CheckpointException(where + ": tensor '" + r.source() + "' holds " + t.dtype()
                        + ", expected a floating-point tensor");
            }
            if (!Boolean.getBoolean(ALLOW_NON_FINITE_PROPERTY)) {
                float[] v = t.floats();
                for (int i = 0; i < v.length; i++) {
                    if (!Float.isFinite(v[i])) {
                        throw new CheckpointException(where + ": tensor '" + r.source() + "' holds " + v[i]
                                + " at element " + i + "; weights must be finite (-D" + ALLOW_NON_FINITE_PROPERTY
                                + "=true loads them anyway)");
                    }
                }
            }
            switch (r.transform()) {
                case AS_IS:
                    return t.reshape(want);
                case TRANSPOSE: {
                    long rows = t.dim(0);
                    long cols = t.dim(1);
                    float[] in = t.floats();
                    float[] out = new float[in.length];
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < cols; j++) {
                            out[(int) (j * rows + i)] = in[(int) (i * cols + j)];
                        }
                    }
                    return HostTensor.ofFloats(out, cols, rows);
                }
                case ROW_BLOCK: {
                    long per = t.dim(0) / r.blocks();
                    return t.slice0(per * r.block(), per);
                }
                default:
                    throw new AssertionError(r.transform());
            }
        }

        @Override
        public String describe(String canonical) {
            Rule r = rules.get(canonical);
            if (r == null) {
                return canonical;
            }
            String how = r.transform() == Transform.TRANSPOSE ? " (transposed)"
                    : r.transform() == Transform.ROW_BLOCK ? " (rows block " + r.block() + "/" + r.blocks() + ")" : "";
            return r.source() + how + " in " + where;
        }
    }
}
