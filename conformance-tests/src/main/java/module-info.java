/**
 * The conformance kit: run {@link dev.visiontower.conformance.ConformanceKit} (or its command,
 * {@link dev.visiontower.conformance.Main}) with your backend or model family on the module path to check it
 * against a float64 reference, the golden fixtures and every other backend.
 */
module dev.visiontower.conformance {
    requires transitive dev.visiontower.api;
    requires info.picocli;

    opens dev.visiontower.conformance to info.picocli;

    exports dev.visiontower.conformance;
}
