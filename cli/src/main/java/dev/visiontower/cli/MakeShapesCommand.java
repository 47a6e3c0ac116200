package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code visiontower make-shapes}: a synthetic image-caption dataset. Coloured shapes at random positions, sizes,
 * shades and (mostly slight) rotations, with or without outlines, on flat, gradient, noisy or striped backgrounds,
 * optionally at random image sizes, with captions from several templates. A few shape-colour combinations
 * never appear in the training split; the held-out split has every combination, so zero-shot accuracy on it measures
 * compositional generalisation.
 */
@Command(name = "make-shapes", mixinStandardHelpOptions = true,
        description = "Write a synthetic image-caption dataset: DIR/train and DIR/heldout, each with PNG images and "
                + "captions.jsonl ({image, text, shape, color}), and DIR/labels.json.")
final class MakeShapesCommand implements Callable<Integer> {
    static final String[] SHAPES = {"circle", "square", "triangle", "star", "cross"};
    static final String[] COLORS = {"red", "green", "blue", "yellow", "purple", "orange"};
    /** Combinations kept out of the training split (one per shape, all colours different). */
    static final String[][] UNSEEN = {{"circle", "purple"}, {"square", "orange"}, {"triangle", "yellow"},
        {"star", "green"}, {"cross", "blue"}};

    @Spec
    CommandSpec spec;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output directory.")
    Path output;

    @Option(names = "--count", required = true, paramLabel = "N", description = "Training images.")
    int count;

    @Option(names = "--heldout", paramLabel = "N", defaultValue = "-1",
            description = "Held-out images (default: count / 10, at least 60).")
    int heldout;

    @Option(names = "--size", paramLabel = "PX", defaultValue = "64", description = "Image side (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--max-size", paramLabel = "PX", defaultValue = "0",
            description = "Draw each picture at a random side between --size and this (default: all at --size).")
    int maxSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    VerboseOption verbose;

    private ShapePainter painter;

    static boolean unseen(String shape, String color) {
        for (String[] u : UNSEEN) {
            if (u[0].equals(shape) && u[1].equals(color)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Integer call() throws IOException {
        if (count < 1 || size < 16 || maxSize > 4096) {
            throw new InvalidInputException("--count must be >= 1, --size >= 16 and --max-size <= 4096");
        }
        int held = heldout >= 0 ? heldout : Math.max(60, count / 10);
        Random rnd = new Random(seed);
        painter = new ShapePainter(size, maxSize);
        write(output.resolve("train"), count, rnd, true);
        write(output.resolve("heldout"), held, rnd, false);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode labels = json.createObjectNode();
        ArrayNode shapes = labels.putArray("shapes");
        for (String s : SHAPES) {
            shapes.add(s);
        }
        ArrayNode colors = labels.putArray("colors");
        for (String c : COLORS) {
            colors.add(c);
        }
        ArrayNode unseen = labels.putArray("unseen_in_train");
        for (String[] u : UNSEEN) {
            unseen.add(u[1] + " " + u[0]);
        }
        labels.put("template", "a {color} {shape}");
        json.writeValue(output.resolve("labels.json").toFile(), labels);
        spec.commandLine().getErr().println("wrote " + count + " training and " + held + " held-out images to "
                + output);
        return 0;
    }

    private void write(Path dir, int n, Random rnd, boolean train) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        Progress progress = n >= 200 ? new Progress(spec.commandLine().getErr(), dir.getFileName() + " images", n) : null;
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("captions.jsonl"))) {
            for (int i = 0; i < n; i++) {
                String shape;
                int colorIndex;
                do {
                    shape = SHAPES[rnd.nextInt(SHAPES.length)];
                    colorIndex = rnd.nextInt(COLORS.length);
                } while (train && unseen(shape, COLORS[colorIndex]));
                ShapePainter.Sample s = painter.render(rnd, shape, colorIndex);
                String name = String.format(Locale.ROOT, "%06d.png", i);
                javax.imageio.ImageIO.write(s.image(), "png", dir.resolve(name).toFile());
                ObjectNode line = json.createObjectNode();
                line.put("image", name);
                line.put("text", caption(rnd, s, shape, COLORS[colorIndex]));
                line.put("shape", shape);
                line.put("color", COLORS[colorIndex]);
                w.write(json.writeValueAsString(line));
                w.newLine();
                if (progress != null && (i + 1) % 100 == 0) {
                    progress.update(i + 1);
                }
            }
        }
        if (progress != null) {
            progress.finish();
        }
    }

    private static String caption(Random rnd, ShapePainter.Sample s, String shape, String color) {
        String size = s.scale() < 0.55 ? "small" : "large";
        String where;
        boolean left = s.cx() < 0.38;
        boolean right = s.cx() > 0.62;
        boolean top = s.cy() < 0.38;
        boolean bottom = s.cy() > 0.62;
        if ((left || right) && (top || bottom)) {
            where = "in the corner";
        } else if (left) {
            where = "on the left";
        } else if (right) {
            where = "on the right";
        } else if (top) {
            where = "at the top";
        } else if (bottom) {
            where = "at the bottom";
        } else {
            where = "in the middle";
        }
        switch (rnd.nextInt(5)) {
            case 0: return "a " + color + " " + shape;
            case 1: return "a photo of a " + color + " " + shape;
            case 2: return "a " + size + " " + color + " " + shape;
            case 3: return "a " + color + " " + shape + " " + where;
            default: return "a picture of a " + size + " " + color + " " + shape + " " + where;
        }
    }
}
