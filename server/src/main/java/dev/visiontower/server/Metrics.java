package dev.visiontower.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

/** The server's metrics, in Prometheus' text format at {@code GET /metrics}. */
final class Metrics {
    final PrometheusRegistry registry = new PrometheusRegistry();
    final Counter requests = Counter.builder().name("visiontower_requests_total")
            .help("HTTP requests by endpoint and status").labelNames("endpoint", "status").register(registry);
    final Histogram latency = Histogram.builder().name("visiontower_request_seconds")
            .help("Request latency by endpoint").labelNames("endpoint").classicOnly()
            .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10).register(registry);
    final Histogram batchSize = Histogram.builder().name("visiontower_batch_size")
            .help("Items per forward pass, by kind (image or text)").labelNames("kind").classicOnly()
            .classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128, 256).register(registry);
    final Gauge queueDepth = Gauge.builder().name("visiontower_queue_depth")
            .help("Items waiting for the model").register(registry);
    final Counter images = Counter.builder().name("visiontower_images_total")
            .help("Images embedded or classified").register(registry);
    final Counter texts = Counter.builder().name("visiontower_texts_total")
            .help("Texts embedded").register(registry);

    byte[] scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return out.toByteArray();
    }
}
