package dev.visiontower.conformance;

/**
 * One cell of the report.
 *
 * @param backend the backend checked (for pair checks: {@code a~b})
 * @param check   the check's name, e.g. {@code op.attention.causal}, {@code layer.block.internvit6b},
 *                {@code model.clip_vision}, {@code pair.clip_vision}
 * @param outcome PASS, FAIL, SKIP or UNSUPPORTED
 * @param detail  errors and tolerances, or the reason for SKIP / UNSUPPORTED
 * @param maxAbs  largest absolute difference (NaN when not compared)
 * @param cosine  smallest cosine similarity of the compared outputs (NaN when not compared)
 */
public record CheckResult(String backend, String check, Outcome outcome, String detail, double maxAbs, double cosine) {

    static CheckResult skip(String backend, String check, String why) {
        return new CheckResult(backend, check, Outcome.SKIP, why, Double.NaN, Double.NaN);
    }
}
