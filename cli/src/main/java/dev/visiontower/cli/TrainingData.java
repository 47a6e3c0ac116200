package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.train.TrainingRun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * An image folder with captions: {@code captions.jsonl} lines {@code {"image": "...", "text": "..."}} (optional
 * {@code shape}/{@code color} labels for zero-shot evaluation) or a {@code captions.csv} with {@code image,text}.
 * {@code DIR/train} and {@code DIR/heldout} are used when present; otherwise 10% of {@code DIR} is held out.
 */
final class TrainingData {
    final List<TrainingRun.Example> train;
    final List<TrainingRun.Example> heldout;

    private TrainingData(List<TrainingRun.Example> train, List<TrainingRun.Example> heldout) {
        this.train = train;
        this.heldout = heldout;
    }

    static TrainingData load(Path dir, long seed) {
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException(dir + ": no such data directory");
        }
        if (Files.isDirectory(dir.resolve("train")) && Files.isDirectory(dir.resolve("heldout"))) {
            return new TrainingData(read(dir.resolve("train")), read(dir.resolve("heldout")));
        }
        List<TrainingRun.Example> all = new ArrayList<>(read(dir));
        java.util.Collections.shuffle(all, new Random(seed));
        int held = Math.max(1, all.size() / 10);
        return new TrainingData(all.subList(held, all.size()), all.subList(0, held));
    }

    /** {@code captions.csv}: RFC 4180 with a header naming the {@code image} and {@code text} columns. */
    private static List<TrainingRun.Example> readCsv(Path dir, Path csv) throws IOException {
        com.fasterxml.jackson.dataformat.csv.CsvMapper mapper = new com.fasterxml.jackson.dataformat.csv.CsvMapper();
        com.fasterxml.jackson.dataformat.csv.CsvSchema schema = com.fasterxml.jackson.dataformat.csv.CsvSchema
                .emptySchema().withHeader();
        List<TrainingRun.Example> out = new ArrayList<>();
        try (com.fasterxml.jackson.databind.MappingIterator<java.util.Map<String, String>> rows = mapper
                .readerForMapOf(String.class).with(schema).readValues(csv.toFile())) {
            boolean any = rows.hasNextValue(); // reads the header
            com.fasterxml.jackson.dataformat.csv.CsvSchema header =
                    (com.fasterxml.jackson.dataformat.csv.CsvSchema) rows.getParserSchema();
            if (header == null || header.column("image") == null || header.column("text") == null) {
                List<String> found = new ArrayList<>();
                if (header != null) {
                    header.forEach(c -> found.add(c.getName()));
                }
                throw new InvalidInputException(csv + ": the first line must be a header naming the columns image and "
                        + "text, found " + found);
            }
            while (any && rows.hasNextValue()) {
                java.util.Map<String, String> row = rows.nextValue();
                long line = rows.getCurrentLocation().getLineNr();
                String image = row.get("image") == null ? "" : row.get("image").strip();
                if (image.isEmpty()) {
                    throw new InvalidInputException(csv + ":" + line + ": empty image");
                }
                out.add(new TrainingRun.Example(dir.resolve(image), row.get("text") == null ? "" : row.get("text"), null));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidInputException(csv + ": not valid CSV: " + e.getOriginalMessage());
        }
        return out;
    }

    private static List<TrainingRun.Example> read(Path dir) {
        Path jsonl = dir.resolve("captions.jsonl");
        Path csv = dir.resolve("captions.csv");
        List<TrainingRun.Example> out = new ArrayList<>();
        try {
            if (Files.isRegularFile(jsonl)) {
                ObjectMapper json = new ObjectMapper();
                int n = 0;
                for (String line : Files.readAllLines(jsonl)) {
                    n++;
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode o;
                    try {
                        o = json.readTree(line);
                    } catch (IOException e) {
                        throw new InvalidInputException(jsonl + ":" + n + ": not JSON: " + e.getMessage());
                    }
                    if (!o.hasNonNull("image") || !o.hasNonNull("text")) {
                        throw new InvalidInputException(jsonl + ":" + n + ": needs \"image\" and \"text\"");
                    }
                    String label = o.hasNonNull("color") && o.hasNonNull("shape")
                            ? o.get("color").asText() + " " + o.get("shape").asText() : null;
                    out.add(new TrainingRun.Example(dir.resolve(o.get("image").asText()), o.get("text").asText(), label));
                }
            } else if (Files.isRegularFile(csv)) {
                out.addAll(readCsv(dir, csv));
            } else {
                throw new InvalidInputException(dir + ": no captions.jsonl or captions.csv");
            }
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot read captions: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new InvalidInputException(dir + ": no examples");
        }
        for (TrainingRun.Example e : out) {
            if (!Files.isRegularFile(e.image())) {
                throw new InvalidInputException(e.image() + ": image listed in the captions is missing");
            }
        }
        return out;
    }
}
