package dev.visiontower.api.train;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tolerance;

/**
 * How closely weights after AdamW steps can match a reference: {@code atol + rtol|b|}, except for elements whose
 * reference gradient is below AdamW's eps. Those are gradients that are zero in exact arithmetic (an attention key
 * bias: softmax ignores a shift shared by a whole row), so both sides hold rounding noise, and AdamW turns noise
 * {@code g} into an update {@code lr g / eps} (here about {@code 1e-5}). For such elements the bound grows by the
 * largest such update, {@code 3 lr max|g| / eps}, per step.
 */
public final class UpdateTolerance {
    private UpdateTolerance() {
    }

    /**
     * Compares weights after {@code steps} updates with the reference's.
     *
     * @return null when every element is within its bound, else a description of the worst element
     */
    public static String check(HostTensor actual, HostTensor expected, HostTensor referenceGradient, Tolerance base,
                               int steps, double lr, double eps) {
        float[] a = actual.toFloatArray();
        float[] b = expected.toFloatArray();
        float[] g = referenceGradient.toFloatArray();
        if (a.length != b.length || g.length != b.length) {
            return "shapes differ";
        }
        double noise = 0;
        for (float v : g) {
            if (Math.abs(v) < eps) {
                noise = Math.max(noise, Math.abs(v));
            }
        }
        double worst = 0;
        int at = -1;
        for (int i = 0; i < a.length; i++) {
            double bound = base.atol() + base.rtol() * Math.abs(b[i])
                    + (steps > 0 && Math.abs(g[i]) < eps ? steps * 3 * lr * noise / eps : 0);
            double r = Math.abs(a[i] - b[i]) / bound;
            if (!(r <= worst) || Double.isNaN(r)) {
                worst = Double.isNaN(r) ? Double.POSITIVE_INFINITY : r;
                at = i;
            }
        }
        return worst > 1 ? "element " + at + ": got " + a[at] + ", expected " + b[at] + " (reference gradient "
                + g[at] + ")" : null;
    }
}
