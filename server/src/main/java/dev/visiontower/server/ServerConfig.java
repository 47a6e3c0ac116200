package dev.visiontower.server;

/**
 * How the server listens and batches.
 *
 * @param host          address to bind (loopback unless told otherwise)
 * @param port          TCP port (0: any free port)
 * @param maxBatch      the most images (or texts) in one forward pass
 * @param maxWaitMillis how long the first request of a batch waits for others to join it
 * @param maxQueue      requests items waiting for the model before new ones are refused with 429
 * @param maxBodyBytes  largest request body; a larger one is refused with 413 before it is read
 * @param apiKey        the key every request must present as {@code Authorization: Bearer KEY}, or null
 * @param decodeThreads threads decoding and preprocessing images
 * @param httpThreads   threads handling HTTP exchanges
 */
public record ServerConfig(String host, int port, int maxBatch, int maxWaitMillis, int maxQueue, long maxBodyBytes,
                           String apiKey, int decodeThreads, int httpThreads) {
    public ServerConfig {
        if (port < 0 || port > 65535 || maxBatch < 1 || maxWaitMillis < 0 || maxQueue < 1 || maxBodyBytes < 1
                || decodeThreads < 1 || httpThreads < 1) {
            throw new IllegalArgumentException("invalid server settings: port " + port + ", max batch " + maxBatch
                    + ", max wait " + maxWaitMillis + " ms, max queue " + maxQueue + ", max body " + maxBodyBytes
                    + " bytes, " + decodeThreads + " decode and " + httpThreads + " HTTP threads");
        }
    }

    /** Loopback, port 8080, batches of up to 32 after at most 5 ms, 256 waiting items, 20 MB bodies, no key. */
    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, 32, 5, 256, 20L << 20, null,
                Math.max(1, Runtime.getRuntime().availableProcessors() / 2), 64);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, maxBatch, maxWaitMillis, maxQueue, maxBodyBytes, apiKey, decodeThreads,
                httpThreads);
    }
}
