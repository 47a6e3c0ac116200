package dev.visiontower.api;

import java.util.Locale;

/** The activations the towers use. Names say what they compute. */
public enum Activation {
    /** {@code x * sigmoid(1.702 x)} (OpenAI CLIP, HF {@code quick_gelu}). */
    QUICK_GELU,
    /** Exact GELU {@code 0.5 x (1 + erf(x / sqrt 2))} (HF {@code gelu}). */
    GELU,
    /** Tanh approximation {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} (HF {@code gelu_pytorch_tanh}). */
    GELU_TANH;

    /** Maps a Hugging Face {@code hidden_act} string. */
    public static Activation fromHuggingFace(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "quick_gelu": return QUICK_GELU;
            case "gelu": return GELU;
            case "gelu_pytorch_tanh": case "gelu_new": case "gelu_fast": case "gelu_tanh": return GELU_TANH;
            default:
                throw new InvalidInputException("unsupported hidden_act '" + name
                        + "', expected one of [quick_gelu, gelu, gelu_pytorch_tanh, gelu_new]");
        }
    }

    /** Reference value in double precision (used by tests and pure-Java code paths). */
    public double apply(double x) {
        switch (this) {
            case QUICK_GELU: return x / (1.0 + Math.exp(-1.702 * x));
            case GELU: return 0.5 * x * (1.0 + Erf.erf(x / Math.sqrt(2.0)));
            case GELU_TANH:
                return 0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x)));
            default: throw new AssertionError(this);
        }
    }

    /** The error function to ~1e-15 (series near 0, continued fraction in the tails). */
    static final class Erf {
        private Erf() {
        }

        static double erf(double x) {
            double ax = Math.abs(x);
            double r;
            if (ax < 2.5) {
                // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
                double term = ax;
                double sum = ax;
                double x2 = ax * ax;
                for (int n = 1; n < 200; n++) {
                    term *= -x2 / n;
                    double add = term / (2 * n + 1);
                    sum += add;
                    if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                        break;
                    }
                }
                r = 2.0 / Math.sqrt(Math.PI) * sum;
            } else {
                // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz)
                double f = ax;
                double c = ax;
                double d = 0;
                for (int k = 1; k < 300; k++) {
                    double a = k / 2.0;
                    d = ax + a * d;
                    d = 1.0 / d;
                    c = ax + a / c;
                    double delta = c * d;
                    f *= delta;
                    if (Math.abs(delta - 1.0) < 1e-16) {
                        break;
                    }
                }
                r = 1.0 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
            }
            return x < 0 ? -r : r;
        }
    }
}
