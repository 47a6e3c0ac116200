package dev.visiontower.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.VisionTowerException;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImageLoadOptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP server: OpenAI-style {@code POST /v1/embeddings} (texts and images, images as data URIs), {@code POST
 * /v1/classify} (zero-shot), {@code GET /v1/models}, {@code /health}, {@code /ready} and {@code /metrics}
 * (Prometheus). Built on the JDK's {@code jdk.httpserver} with a bounded thread pool, Jackson for JSON, and
 * {@link Batcher} for dynamic batching; images are decoded and preprocessed on their own pool.
 *
 * <p>Every refusal is a JSON {@code {"error": {"message", "type", "param", "index"}}} with a 4xx status: 400 for a
 * malformed request (naming the field and item), 401 without the API key, 413 for a body over the limit (refused
 * from its declared length before it is read), 429 with {@code Retry-After} when the queue is full, 503 while
 * stopping. An unexpected failure is a 500 with a generic message; no stack trace reaches a response.
 */
public final class EmbeddingServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> EMBEDDING_FIELDS = Set.of("model", "input", "encoding_format", "normalize",
            "truncate", "user", "dimensions");
    private static final Set<String> CLASSIFY_FIELDS = Set.of("model", "images", "labels", "template", "top");

    private final Encoder encoder;
    private final ServerConfig config;
    private final Metrics metrics = new Metrics();
    private final Batcher batcher;
    private final HttpServer http;
    private final ExecutorService httpPool;
    private final ExecutorService decodePool;
    private final java.util.concurrent.Semaphore decodeSlots;
    private final byte[] apiKey;
    private final List<java.nio.file.Path> gallery;
    private final java.nio.file.Path galleryDir;
    private volatile boolean stopping;

    /** File name endings the gallery lists. */
    private static final List<String> IMAGE_EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp",
            ".tif", ".tiff");

    private EmbeddingServer(Encoder encoder, ServerConfig config, java.nio.file.Path galleryDir) throws IOException {
        this.encoder = encoder;
        this.config = config;
        this.galleryDir = galleryDir;
        this.gallery = galleryDir == null ? List.of() : listGallery(galleryDir);
        this.apiKey = config.apiKey() == null ? null : config.apiKey().getBytes(StandardCharsets.UTF_8);
        this.batcher = new Batcher(config, encoder::images, encoder::texts, metrics);
        AtomicInteger n = new AtomicInteger();
        this.httpPool = new ThreadPoolExecutor(config.httpThreads(), config.httpThreads(), 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(4 * config.maxQueue()), r -> daemon(r, "visiontower-http-" + n.incrementAndGet()),
                new ThreadPoolExecutor.CallerRunsPolicy()); // saturated: the accepting thread serves, pausing accepts
        this.decodeSlots = new java.util.concurrent.Semaphore(config.decodeThreads());
        AtomicInteger m = new AtomicInteger();
        this.decodePool = java.util.concurrent.Executors.newFixedThreadPool(config.decodeThreads(),
                r -> daemon(r, "visiontower-decode-" + m.incrementAndGet()));
        // small JSON answers go out at once instead of waiting on Nagle's algorithm (read when the server starts)
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 128);
        http.setExecutor(httpPool);
        http.createContext("/", this::handle);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Starts serving {@code encoder}; the port is bound when this returns. */
    public static EmbeddingServer start(Encoder encoder, ServerConfig config) throws IOException {
        return start(encoder, config, null);
    }

    /**
     * Starts serving {@code encoder}, with the image files below {@code galleryDir} (or none when null) offered to the
     * search page at {@code /v1/gallery}.
     */
    public static EmbeddingServer start(Encoder encoder, ServerConfig config, java.nio.file.Path galleryDir)
            throws IOException {
        EmbeddingServer s = new EmbeddingServer(encoder, config, galleryDir);
        s.http.start();
        return s;
    }

    private static List<java.nio.file.Path> listGallery(java.nio.file.Path dir) throws IOException {
        if (!java.nio.file.Files.isDirectory(dir)) {
            throw new InvalidInputException(dir + ": no such gallery directory");
        }
        try (var walk = java.nio.file.Files.walk(dir)) {
            return walk.filter(java.nio.file.Files::isRegularFile).filter(f -> {
                String n = f.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
                return IMAGE_EXTENSIONS.stream().anyMatch(n::endsWith);
            }).sorted().limit(10_000).toList();
        }
    }

    /**
     * Runs {@code work} on the server's model thread between batches (the backend is never used from two threads at
     * once) and returns its result: for code that shares the server's model, such as a benchmark timing forward
     * passes under the same conditions as the server's own.
     */
    public <T> T onModelThread(java.util.function.Supplier<T> work) {
        CompletableFuture<T> f = batcher.run(work);
        if (f == null) {
            throw full();
        }
        return await(f);
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        long t0 = System.nanoTime();
        String path = ex.getRequestURI().getPath();
        String endpoint = switch (path) {
            case "/v1/embeddings", "/v1/classify", "/v1/models", "/v1/gallery", "/health", "/ready", "/metrics", "/"
                    -> path;
            default -> path.startsWith("/gallery/") ? "/gallery" : "other";
        };
        int status;
        try {
            status = route(ex, path);
        } catch (ApiError e) {
            status = sendError(ex, e);
        } catch (RuntimeException | Error e) {
            // never a stack trace in a response; the server goes on
            status = sendError(ex, new ApiError(500, "server_error", "internal error while handling the request ("
                    + e.getClass().getSimpleName() + ")", null, null));
        } finally {
            ex.close();
        }
        metrics.requests.labelValues(endpoint, Integer.toString(status)).inc();
        metrics.latency.labelValues(endpoint).observe((System.nanoTime() - t0) / 1e9);
    }

    private int route(HttpExchange ex, String path) throws IOException {
        if (path.equals("/") || path.equals("/index.html")) {
            // the page itself holds no data; its calls to the API carry the key the user types
            return sendPage(ex);
        }
        if (apiKey != null && !authorized(ex)) {
            throw new ApiError(401, "authentication_error", "missing or wrong API key (send Authorization: Bearer KEY)",
                    null, null);
        }
        if (stopping) {
            throw new ApiError(503, "server_error", "the server is stopping", null, null);
        }
        switch (path) {
            case "/health":
                return sendJson(ex, 200, JSON.createObjectNode().put("status", "ok"));
            case "/ready":
                return sendJson(ex, 200, JSON.createObjectNode().put("status", "ready").put("model", encoder.name()));
            case "/metrics": {
                byte[] body = metrics.scrape();
                ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(body);
                }
                return 200;
            }
            case "/v1/gallery": {
                ObjectNode doc = JSON.createObjectNode().put("object", "list");
                ArrayNode data = doc.putArray("data");
                for (int i = 0; i < gallery.size(); i++) {
                    data.addObject().put("name", galleryDir.relativize(gallery.get(i)).toString())
                            .put("url", "/gallery/" + i);
                }
                return sendJson(ex, 200, doc);
            }
            case "/v1/models": {
                ObjectNode doc = JSON.createObjectNode().put("object", "list");
                doc.putArray("data").addObject().put("id", encoder.name()).put("object", "model")
                        .put("owned_by", "visiontower");
                return sendJson(ex, 200, doc);
            }
            case "/v1/embeddings":
            case "/v1/classify": {
                requirePost(ex);
                ObjectNode answer;
                // batches wait for this request's items until they are queued (or it fails)
                Runnable queued = new Runnable() {
                    private boolean done;

                    @Override
                    public void run() {
                        if (!done) {
                            done = true;
                            batcher.arriving(-1);
                        }
                    }
                };
                batcher.arriving(1);
                try {
                    JsonNode body = readJson(ex);
                    answer = path.equals("/v1/embeddings") ? embeddings(body, queued) : classify(body, queued);
                } finally {
                    queued.run();
                }
                return sendJson(ex, 200, answer);
            }
            default:
                if (path.startsWith("/gallery/")) {
                    return sendGalleryFile(ex, path.substring("/gallery/".length()));
                }
                throw new ApiError(404, "invalid_request_error", "no such endpoint: " + path, null, null);
        }
    }

    private boolean authorized(HttpExchange ex) {
        String h = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = h != null && h.startsWith("Bearer ") ? h.substring(7).strip().getBytes(StandardCharsets.UTF_8)
                : new byte[0];
        return MessageDigest.isEqual(given, apiKey); // constant time in the key's content
    }

    private static void requirePost(HttpExchange ex) {
        if (!ex.getRequestMethod().equals("POST")) {
            ex.getResponseHeaders().set("Allow", "POST");
            throw new ApiError(405, "invalid_request_error", ex.getRequestMethod() + " is not allowed here; use POST",
                    null, null);
        }
    }

    /** The body as JSON: its declared length checked before reading, an undeclared one cut off at the limit. */
    private JsonNode readJson(HttpExchange ex) throws IOException {
        long limit = config.maxBodyBytes();
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long n;
            try {
                n = Long.parseLong(declared.strip());
            } catch (NumberFormatException e) {
                throw ApiError.badRequest("bad Content-Length " + declared, null, null);
            }
            if (n > limit) {
                ex.getResponseHeaders().set("Connection", "close");
                if (n <= 4 * limit) {
                    discard(ex.getRequestBody()); // so that a client still sending sees the answer, not a reset
                }
                throw new ApiError(413, "invalid_request_error", "the body is " + n + " bytes, more than the limit of "
                        + limit + " (--max-body-mb)", null, null);
            }
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (InputStream in = ex.getRequestBody()) {
            byte[] chunk = new byte[1 << 16];
            for (int r = in.read(chunk); r >= 0; r = in.read(chunk)) {
                buf.write(chunk, 0, r);
                if (buf.size() > limit) {
                    ex.getResponseHeaders().set("Connection", "close");
                    throw new ApiError(413, "invalid_request_error", "the body is more than the limit of " + limit
                            + " bytes (--max-body-mb)", null, null);
                }
            }
        }
        try {
            JsonNode n = JSON.readTree(buf.toByteArray());
            if (n == null || !n.isObject()) {
                throw ApiError.badRequest("the body must be a JSON object", null, null);
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            var at = e.getLocation();
            throw ApiError.badRequest("malformed JSON" + (at == null ? "" : " at line " + at.getLineNr() + ", column "
                    + at.getColumnNr()) + ": " + String.valueOf(e.getOriginalMessage()).replaceAll("\\s+", " "),
                    null, null);
        }
    }

    /** Reads and drops a body (never held in memory). */
    private static void discard(InputStream in) throws IOException {
        byte[] chunk = new byte[1 << 16];
        while (in.read(chunk) >= 0) {
            // dropped
        }
    }

    private static void onlyFields(JsonNode body, Set<String> allowed) {
        body.fieldNames().forEachRemaining(f -> {
            if (!allowed.contains(f)) {
                throw ApiError.badRequest("unknown field '" + f + "' (accepted: " + new java.util.TreeSet<>(allowed)
                        + ")", f, null);
            }
        });
    }

    private record Input(String text, String image) {
    }

    private static List<Input> inputs(JsonNode input) {
        List<Input> out = new ArrayList<>();
        if (input == null || input.isNull()) {
            throw ApiError.badRequest("'input' is required: a string or a list of strings, {\"text\"} or {\"image\"} "
                    + "items", "input", null);
        }
        List<JsonNode> items = new ArrayList<>();
        if (input.isArray()) {
            input.forEach(items::add);
        } else {
            items.add(input);
        }
        if (items.isEmpty()) {
            throw ApiError.badRequest("'input' is empty", "input", null);
        }
        for (int i = 0; i < items.size(); i++) {
            JsonNode it = items.get(i);
            if (it.isTextual()) {
                String s = it.asText();
                out.add(s.startsWith("data:") ? new Input(null, s) : new Input(s, null));
            } else if (it.isObject() && it.size() == 1 && it.path("text").isTextual()) {
                out.add(new Input(it.get("text").asText(), null));
            } else if (it.isObject() && it.size() == 1 && it.path("image").isTextual()) {
                out.add(new Input(null, it.get("image").asText()));
            } else {
                throw ApiError.badRequest("input item " + i + " must be a string, {\"text\": \"...\"} or {\"image\": "
                        + "\"data:image/...;base64,...\"}", "input", i);
            }
        }
        return out;
    }

    /** Bytes of a data URI ({@code data:image/png;base64,...}) or bare base64. */
    private static byte[] imageBytes(String s, String param, int index) {
        String b64 = s;
        if (s.startsWith("data:")) {
            int comma = s.indexOf(',');
            if (comma < 0 || !s.substring(0, comma).endsWith(";base64")) {
                throw ApiError.badRequest("item " + index + ": an image data URI must be data:image/...;base64,...",
                        param, index);
            }
            b64 = s.substring(comma + 1);
        }
        try {
            // strict: any character outside the alphabet is an error; line breaks (MIME style) are allowed
            return Base64.getDecoder().decode(b64.indexOf('\n') < 0 && b64.indexOf('\r') < 0 && b64.indexOf(' ') < 0
                    ? b64 : b64.replaceAll("\\s+", ""));
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("item " + index + ": bad base64 (" + e.getMessage() + ")", param, index);
        }
    }

    /**
     * Decodes and preprocesses one image; its errors name its item. At most {@code decodeThreads} images are decoded at
     * once (decoded images can be large). The request's last image ({@code last}) is decoded on the request's own
     * thread when a slot is free, as that thread would only wait for it: a lone image skips two thread hand-offs.
     */
    private CompletableFuture<HostTensor> preprocess(String image, String param, int index, boolean last) {
        if (last && decodeSlots.tryAcquire()) {
            try {
                return CompletableFuture.completedFuture(decode(image, param, index));
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            } finally {
                decodeSlots.release();
            }
        }
        return CompletableFuture.supplyAsync(() -> {
            decodeSlots.acquireUninterruptibly();
            try {
                return decode(image, param, index);
            } finally {
                decodeSlots.release();
            }
        }, decodePool);
    }

    private HostTensor decode(String image, String param, int index) {
        byte[] bytes = imageBytes(image, param, index);
        try {
            return encoder.preprocessor().apply(ImageDecoding.decode(bytes, param + "[" + index + "]",
                    ImageLoadOptions.HUGGING_FACE));
        } catch (InvalidInputException e) {
            throw ApiError.badRequest(e.getMessage(), param, index);
        }
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(10, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof ApiError a) {
                throw a;
            }
            if (c instanceof VisionTowerException v) {
                throw ApiError.badRequest(v.getMessage(), null, null);
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(503, "server_error", "interrupted", null, null);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new ApiError(503, "server_error", "the model did not answer in time", null, null);
        }
    }

    private static ApiError full() {
        return new ApiError(429, "rate_limit_error", "the server's queue is full; retry shortly", null, null);
    }

    private ObjectNode embeddings(JsonNode body, Runnable queued) {
        onlyFields(body, EMBEDDING_FIELDS);
        String format = body.path("encoding_format").asText("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiError.badRequest("encoding_format must be \"float\" or \"base64\", got " + body.get(
                    "encoding_format"), "encoding_format", null);
        }
        for (String f : new String[] {"normalize", "truncate"}) {
            if (body.has(f) && !body.get(f).isBoolean()) {
                throw ApiError.badRequest("'" + f + "' must be true or false", f, null);
            }
        }
        boolean normalize = body.path("normalize").asBoolean(false);
        boolean truncate = body.path("truncate").asBoolean(false);
        List<Input> inputs = inputs(body.get("input"));
        int tokens = 0;
        int lastImage = -1;
        for (int i = 0; i < inputs.size(); i++) {
            lastImage = inputs.get(i).image() != null ? i : lastImage;
        }
        List<CompletableFuture<HostTensor>> pixels = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            Input in = inputs.get(i);
            if (in.text() != null) {
                if (!encoder.hasText()) {
                    throw ApiError.badRequest("item " + i + " is text but this model has no text tower", "input", i);
                }
                var tok = encoder.tokenizer();
                int n = tok.tokenize(in.text()).length + tok.specialTokens();
                if (n > tok.contextLength() && !truncate) {
                    throw ApiError.badRequest("item " + i + " is " + n + " tokens, more than the context length "
                            + tok.contextLength() + " (send \"truncate\": true to cut it)", "input", i);
                }
                tokens += Math.min(n, tok.contextLength());
                pixels.add(null);
            } else {
                pixels.add(preprocess(in.image(), "input", i, i == lastImage));
            }
        }
        if (!batcher.hasRoom(inputs.size())) {
            throw full();
        }
        List<CompletableFuture<float[]>> results = new ArrayList<>();
        int imageCount = 0;
        for (int i = 0; i < inputs.size(); i++) {
            CompletableFuture<float[]> f;
            if (inputs.get(i).text() != null) {
                f = batcher.submitText(inputs.get(i).text());
            } else {
                f = batcher.submitImage(await(pixels.get(i)));
                imageCount++;
            }
            if (f == null) {
                throw full();
            }
            results.add(f);
        }
        queued.run();
        ObjectNode doc = JSON.createObjectNode().put("object", "list");
        ArrayNode data = doc.putArray("data");
        for (int i = 0; i < results.size(); i++) {
            float[] v = await(results.get(i));
            if (normalize) {
                v = HostTensor.l2Normalize(v);
            }
            ObjectNode e = data.addObject().put("object", "embedding").put("index", i);
            if (format.equals("base64")) {
                ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                e.put("embedding", Base64.getEncoder().encodeToString(b.array()));
            } else {
                ArrayNode arr = e.putArray("embedding");
                for (float x : v) {
                    arr.add(x);
                }
            }
        }
        metrics.images.inc(imageCount);
        metrics.texts.inc(inputs.size() - imageCount);
        doc.put("model", encoder.name());
        doc.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return doc;
    }

    private ObjectNode classify(JsonNode body, Runnable queued) {
        onlyFields(body, CLASSIFY_FIELDS);
        if (!encoder.hasText()) {
            throw ApiError.badRequest("this model has no text tower: zero-shot classification needs one", null, null);
        }
        JsonNode images = body.get("images");
        JsonNode labels = body.get("labels");
        if (images == null || !images.isArray() || images.isEmpty()) {
            throw ApiError.badRequest("'images' must be a non-empty list of data URIs", "images", null);
        }
        if (labels == null || !labels.isArray() || labels.isEmpty()) {
            throw ApiError.badRequest("'labels' must be a non-empty list of strings", "labels", null);
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            if (!labels.get(i).isTextual() || labels.get(i).asText().isBlank()) {
                throw ApiError.badRequest("label " + i + " must be a non-empty string", "labels", i);
            }
            names.add(labels.get(i).asText().strip());
        }
        JsonNode tpl = body.path("template");
        if (!tpl.isMissingNode() && !tpl.isTextual()) {
            throw ApiError.badRequest("'template' must be a string", "template", null);
        }
        String template = tpl.asText("a photo of a {}.");
        JsonNode topNode = body.path("top");
        if (!topNode.isMissingNode() && !(topNode.isIntegralNumber() && topNode.asInt() >= 1)) {
            throw ApiError.badRequest("'top' must be an integer >= 1", "top", null);
        }
        int top = topNode.asInt(3);
        List<CompletableFuture<HostTensor>> pixels = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            if (!images.get(i).isTextual()) {
                throw ApiError.badRequest("image " + i + " must be a data URI or base64 string", "images", i);
            }
            pixels.add(preprocess(images.get(i).asText(), "images", i, i == images.size() - 1));
        }
        List<HostTensor> px = new ArrayList<>();
        for (CompletableFuture<HostTensor> f : pixels) {
            px.add(await(f));
        }
        HostTensor batch = HostTensor.concat0(px);
        CompletableFuture<List<List<DualEncoder.Label>>> f = batcher.run(() -> encoder.classify(batch, names, template,
                top));
        if (f == null) {
            throw full();
        }
        queued.run();
        List<List<DualEncoder.Label>> ranked = await(f);
        metrics.images.inc(px.size());
        ObjectNode doc = JSON.createObjectNode().put("object", "list").put("model", encoder.name())
                .put("probability", encoder.probability());
        ArrayNode data = doc.putArray("data");
        for (int i = 0; i < ranked.size(); i++) {
            ArrayNode l = data.addObject().put("index", i).putArray("labels");
            for (DualEncoder.Label lab : ranked.get(i)) {
                l.addObject().put("label", lab.label()).put("probability", lab.probability());
            }
        }
        return doc;
    }

    private static int sendPage(HttpExchange ex) throws IOException {
        byte[] body;
        try (InputStream in = EmbeddingServer.class.getResourceAsStream("index.html")) {
            if (in == null) {
                throw new IllegalStateException("index.html is missing from the server jar");
            }
            body = in.readAllBytes();
        }
        ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
        }
        return 200;
    }

    /** A gallery file by its index in the listing (never by a path from the request). */
    private int sendGalleryFile(HttpExchange ex, String index) throws IOException {
        int i;
        try {
            i = Integer.parseInt(index);
        } catch (NumberFormatException e) {
            i = -1;
        }
        if (i < 0 || i >= gallery.size()) {
            throw new ApiError(404, "invalid_request_error", "no gallery image " + index, null, null);
        }
        byte[] body = java.nio.file.Files.readAllBytes(gallery.get(i));
        String n = gallery.get(i).getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        String type = n.endsWith(".png") ? "image/png" : n.endsWith(".webp") ? "image/webp"
                : n.endsWith(".gif") ? "image/gif" : n.endsWith(".bmp") ? "image/bmp"
                : n.endsWith(".tif") || n.endsWith(".tiff") ? "image/tiff" : "image/jpeg";
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
        }
        return 200;
    }

    private static int sendJson(HttpExchange ex, int status, JsonNode doc) throws IOException {
        byte[] body = JSON.writeValueAsBytes(doc);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
        }
        return status;
    }

    private static int sendError(HttpExchange ex, ApiError e) {
        ObjectNode err = JSON.createObjectNode();
        ObjectNode o = err.putObject("error").put("message", e.getMessage()).put("type", e.type);
        if (e.param != null) {
            o.put("param", e.param);
        } else {
            o.putNull("param");
        }
        if (e.index != null) {
            o.put("index", e.index);
        } else {
            o.putNull("index");
        }
        if (e.status == 429) {
            ex.getResponseHeaders().set("Retry-After", "1");
        }
        try {
            sendJson(ex, e.status, err);
        } catch (IOException | RuntimeException ignored) {
            // the client went away, or the headers were already sent
        }
        return e.status;
    }

    /**
     * Stops accepting connections, lets in-flight exchanges finish (up to {@code drainSeconds}), finishes what is
     * queued for the model, and closes the model.
     */
    public void stop(int drainSeconds) {
        stopping = true;
        http.stop(drainSeconds);
        batcher.close();
        httpPool.shutdown();
        decodePool.shutdown();
        encoder.close();
    }

    @Override
    public void close() {
        stop(0);
    }
}
