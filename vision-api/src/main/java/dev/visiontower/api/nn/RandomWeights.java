package dev.visiontower.api.nn;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.checkpoint.WeightSource;

import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded random weights for a configuration (benchmarks, tests, training from scratch): norm weights and layer
 * scales 1, biases 0, everything else normal with standard deviation {@code 0.02} (ViT/CLIP-style initialisation).
 * The same seed and name always give the same tensor, whatever order tensors are loaded in.
 */
public final class RandomWeights implements WeightSource {
    private final Map<String, long[]> shapes;
    private final long seed;

    public RandomWeights(Map<String, long[]> shapes, long seed) {
        this.shapes = Map.copyOf(shapes);
        this.seed = seed;
    }

    /** Random weights for a vision transformer. */
    /** Every tensor of {@code shapes}, generated now, in the map's order (initialising a model to be trained). */
    public static Map<String, HostTensor> generate(Map<String, long[]> shapes, long seed) {
        RandomWeights r = new RandomWeights(shapes, seed);
        Map<String, HostTensor> out = new java.util.LinkedHashMap<>();
        shapes.keySet().forEach(n -> out.put(n, r.load(n)));
        return out;
    }

    public static RandomWeights of(VitConfig config, long seed) {
        return new RandomWeights(VisionTransformer.parameterShapes(config), seed);
    }

    @Override
    public HostTensor load(String name) {
        long[] shape = shapes.get(name);
        if (shape == null) {
            throw new IllegalArgumentException("no parameter " + name);
        }
        int n = Math.toIntExact(dev.visiontower.api.Shapes.numel(shape));
        float[] v = new float[n];
        int dot = name.lastIndexOf('.');
        String leaf = name.substring(dot + 1);
        String module = dot < 0 ? "" : name.substring(0, dot);
        boolean norm = module.endsWith("norm") || module.matches(".*norm\\d") || module.equals("norm_pre");
        boolean layerScale = leaf.matches("ls\\d");
        if (leaf.equals("bias")) {
            return HostTensor.ofFloats(v, shape);
        }
        if (norm || layerScale) {
            java.util.Arrays.fill(v, 1f);
        } else {
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode());
            for (int i = 0; i < n; i += 2) {
                // Box-Muller pairs
                double u1 = r.nextDouble();
                double u2 = r.nextDouble();
                double rad = Math.sqrt(-2 * Math.log(Math.max(u1, 1e-300)));
                v[i] = (float) (0.02 * rad * Math.cos(2 * Math.PI * u2));
                if (i + 1 < n) {
                    v[i + 1] = (float) (0.02 * rad * Math.sin(2 * Math.PI * u2));
                }
            }
        }
        return HostTensor.ofFloats(v, shape);
    }

    @Override
    public String describe(String name) {
        return name + " (random, seed " + seed + ")";
    }
}
