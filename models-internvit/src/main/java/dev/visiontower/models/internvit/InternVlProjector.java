package dev.visiontower.models.internvit;

import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.Parameters;

/**
 * InternVL's vision-to-LLM projector: the class token dropped, tokens reshaped to their {@code g x g} grid, pixel
 * shuffle (version 2, ratio 0.5: each 2x2 block of tokens becomes one token of width 4C), then {@code mlp1}:
 * LayerNorm(4C, eps 1e-5), Linear(4C, D), exact GELU, Linear(D, D).
 *
 * <p>Canonical parameter names: {@code norm.*}, {@code fc1.*}, {@code fc2.*} (checkpoint {@code mlp1.0}, {@code mlp1.1},
 * {@code mlp1.3}).
 */
public final class InternVlProjector {
    private static final double LAYER_NORM_EPS = 1e-5;
    private final Parameters params;

    InternVlProjector(Parameters params) {
        this.params = params;
    }

    /** Pixel shuffle of {@code [T, g, g, C]} to {@code [T, g/2, g/2, 4C]}, exactly as InternVL's v2. */
    public static Tensor pixelShuffle(Ops ops, Tensor x) {
        long[] s = x.shape();
        if (s.length != 4 || s[1] % 2 != 0 || s[2] % 2 != 0) {
            throw new InvalidInputException("pixel shuffle needs [T, W, H, C] with even W and H, got " + Shapes.format(s));
        }
        long n = s[0];
        long w = s[1];
        long h = s[2];
        long c = s[3];
        Tensor y = ops.reshape(x, n, w, h / 2, c * 2);
        y = ops.permute(y, 0, 2, 1, 3);
        y = ops.reshape(y, n, h / 2, w / 2, c * 4);
        return ops.permute(y, 0, 2, 1, 3);
    }

    /** {@code [T, 1 + g*g, C]} vision tokens (class token first) to {@code [T, (g/2)^2, D]} LLM tokens. */
    public Tensor project(Backend backend, Tensor tokens) {
        Ops ops = backend.ops();
        long[] s = tokens.shape();
        long g = Math.round(Math.sqrt(s[1] - 1));
        if (s.length != 3 || g * g != s[1] - 1) {
            throw new InvalidInputException("InternVL projector needs [T, 1 + g*g, C] tokens, got " + Shapes.format(s));
        }
        try (TensorScope scope = backend.newScope()) {
            Tensor grid = ops.reshape(ops.narrow(tokens, 1, 1, g * g), -1, g, g, s[2]);
            Tensor shuffled = ops.reshape(pixelShuffle(ops, grid), -1, (g / 2) * (g / 2), s[2] * 4);
            Tensor h = ops.layerNorm(shuffled, params.get("norm.weight"), params.get("norm.bias"), LAYER_NORM_EPS);
            h = ops.activation(ops.linear(h, params.get("fc1.weight"), params.get("fc1.bias")), Activation.GELU);
            return scope.keep(ops.linear(h, params.get("fc2.weight"), params.get("fc2.bias")));
        }
    }

    void close() {
        params.close();
    }
}
