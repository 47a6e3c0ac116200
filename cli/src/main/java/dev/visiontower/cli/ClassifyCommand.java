package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.nn.ContrastiveHead;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code visiontower classify}: zero-shot classification with a dual encoder. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Zero-shot classification: each label is put in the template, embedded, and compared with each "
                + "image (softmax over labels for CLIP, independent sigmoids for SigLIP).")
final class ClassifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ImageOptions imageOptions;

    @Option(names = "--labels", paramLabel = "A,B,C", split = ",",
            description = "Candidate labels, comma-separated (default: the model's labels.json, if it ships one).")
    List<String> labels;

    @Option(names = "--template", paramLabel = "TEXT",
            description = "Prompt template; {} is replaced by the label (default: the model's, else 'a photo of a {}.').")
    String template;

    @Option(names = "--top", paramLabel = "K", defaultValue = "3", description = "Labels shown per image (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Parameters(arity = "0..*", paramLabel = "IMAGE",
            description = "Image files (JPEG, PNG, WebP, GIF, BMP, TIFF) or directories (default with the bundled "
                    + "model: the sample images).")
    List<Path> images;

    /** Labels and template from {@code labels.json} in the model directory, when the caller gave none. */
    private void defaults(Path modelDir) throws java.io.IOException {
        Path file = modelDir.resolve("labels.json");
        com.fasterxml.jackson.databind.JsonNode j = java.nio.file.Files.isRegularFile(file)
                ? dev.visiontower.api.checkpoint.Checkpoint.readJson(file) : null;
        if (labels == null) {
            if (j == null || !j.path("labels").isArray()) {
                throw new InvalidInputException("--labels is required (" + modelDir + " ships no labels.json)");
            }
            labels = new ArrayList<>();
            for (var l : j.path("labels")) {
                if (!l.isTextual() || l.asText().isBlank()) {
                    throw new InvalidInputException(file + ": 'labels' must hold non-empty strings, found " + l);
                }
                labels.add(l.asText());
            }
            if (labels.isEmpty()) {
                throw new InvalidInputException(file + ": 'labels' is empty");
            }
        }
        if (template == null) {
            if (j != null && j.has("template") && !j.get("template").isTextual()) {
                throw new InvalidInputException(file + ": 'template' must be a string, found " + j.get("template"));
            }
            template = j != null && j.hasNonNull("template") ? j.get("template").asText() : "a photo of a {}.";
        }
        if (images == null || images.isEmpty()) {
            String home = System.getProperty("visiontower.home");
            if (common.model != null || home == null) {
                throw new InvalidInputException("no IMAGE given");
            }
            images = new ArrayList<>();
            try (var files = java.nio.file.Files.list(Path.of(home, "samples", "images"))) {
                files.filter(f -> f.toString().endsWith(".png") || f.toString().endsWith(".jpg")).sorted()
                        .forEach(images::add);
            }
        } else {
            images = Inputs.imageFiles(images, System.in); // folders, @LIST and - as for embed
        }
    }

    @Override
    public Integer call() throws Exception {
        defaults(common.modelDir());
        List<String> names = labels.stream().map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toList());
        if (names.isEmpty()) {
            throw new InvalidInputException("--labels is empty");
        }
        if (top < 1) {
            throw new InvalidInputException("--top must be >= 1, got " + top);
        }
        List<List<DualEncoder.Label>> ranked;
        ContrastiveHead.Probability kind;
        try (Backend backend = common.openBackend(); DualEncoder model = DualEncoder.open(common.modelDir(), backend)) {
            spec.commandLine().getErr().println("model " + model.describe());
            ranked = model.classify(Inputs.preprocess(images, model.preprocessor(), imageOptions.load()), names, template, top);
            kind = model.head().probability();
        }
        for (List<DualEncoder.Label> r : ranked) {
            for (DualEncoder.Label l : r) {
                if (!Float.isFinite(l.probability())) {
                    throw new dev.visiontower.api.CheckpointException(common.modelDir() + ": the model "
                            + "computed a non-finite probability for '" + l.label() + "': its weights or config "
                            + "values are out of the range float32 arithmetic holds");
                }
            }
        }
        List<Map<String, Object>> results = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            List<Map<String, Object>> topK = new ArrayList<>();
            for (DualEncoder.Label l : ranked.get(i)) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("label", l.label());
                e.put("probability", l.probability());
                topK.add(e);
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("image", images.get(i).toString());
            r.put("top", topK);
            results.add(r);
        }
        var out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("probability", kind.name().toLowerCase(Locale.ROOT));
            doc.put("results", results);
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            return 0;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"IMAGE", "RANK", "LABEL", "PROBABILITY"});
        for (Map<String, Object> r : results) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> topK = (List<Map<String, Object>>) r.get("top");
            for (int k = 0; k < topK.size(); k++) {
                rows.add(new String[] {k == 0 ? (String) r.get("image") : "", Integer.toString(k + 1),
                    (String) topK.get(k).get("label"),
                    String.format(Locale.ROOT, "%.4f", (Float) topK.get(k).get("probability"))});
            }
        }
        Table.print(out, rows);
        out.println("(" + (kind == ContrastiveHead.Probability.SOFTMAX ? "softmax over the labels"
                : "independent sigmoid per label") + ")");
        return 0;
    }
}
