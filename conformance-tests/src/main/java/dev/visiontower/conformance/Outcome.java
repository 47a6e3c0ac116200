package dev.visiontower.conformance;

/** The result of one check on one backend. */
public enum Outcome {
    PASS,
    FAIL,
    /** Could not run here (no GPU, fixture absent, backend unavailable); the detail says why. */
    SKIP,
    /** The backend lacks a capability the check needs. */
    UNSUPPORTED
}
