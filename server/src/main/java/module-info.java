/**
 * {@code visiontower serve}: an HTTP server for image and text embeddings and zero-shot classification, with dynamic
 * batching of concurrent requests, on the JDK's {@code jdk.httpserver}. See {@link dev.visiontower.server.EmbeddingServer}.
 */
module dev.visiontower.server {
    requires transitive dev.visiontower.api;
    requires jdk.httpserver;
    requires java.desktop;
    requires io.prometheus.metrics.core;
    requires io.prometheus.metrics.model;
    requires io.prometheus.writer.text;

    exports dev.visiontower.server;
    opens dev.visiontower.server; // the search page, read as a resource
}
