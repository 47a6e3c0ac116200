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

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code visiontower make-shapes}: a synthetic image-caption dataset. Coloured shapes at random positions, sizes and
 * rotations on noisy or textured backgrounds, with captions from several templates. A few shape-colour combinations
 * never appear in the training split; the held-out split has every combination, so zero-shot accuracy on it measures
 * compositional generalisation.
 */
@Command(name = "make-shapes", mixinStandardHelpOptions = true,
        description = "Write a synthetic image-caption dataset: DIR/train and DIR/heldout, each with PNG images and "
                + "captions.jsonl ({image, text, shape, color}), and DIR/labels.json.")
final class MakeShapesCommand implements Callable<Integer> {
    static final String[] SHAPES = {"circle", "square", "triangle", "star", "cross"};
    static final String[] COLORS = {"red", "green", "blue", "yellow", "purple", "orange"};
    private static final Color[] RGB = {new Color(220, 40, 40), new Color(40, 170, 60), new Color(40, 80, 220),
        new Color(235, 215, 40), new Color(150, 50, 190), new Color(245, 140, 30)};
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

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    VerboseOption verbose;

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
        if (count < 1 || size < 16) {
            throw new InvalidInputException("--count must be >= 1 and --size >= 16");
        }
        int held = heldout >= 0 ? heldout : Math.max(60, count / 10);
        Random rnd = new Random(seed);
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
                Sample s = render(rnd, shape, colorIndex);
                String name = String.format(Locale.ROOT, "%06d.png", i);
                javax.imageio.ImageIO.write(s.image, "png", dir.resolve(name).toFile());
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

    private record Sample(BufferedImage image, double scale, double cx, double cy) {
    }

    private Sample render(Random rnd, String shape, int colorIndex) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        background(g, rnd);
        double scale = 0.4 + rnd.nextDouble() * 0.35; // shape extent as a fraction of the image
        double r = scale * size / 2;
        double cx = r + rnd.nextDouble() * (size - 2 * r);
        double cy = r + rnd.nextDouble() * (size - 2 * r);
        Shape s = outline(shape, r);
        AffineTransform at = new AffineTransform();
        at.translate(cx, cy);
        at.rotate(rnd.nextDouble() * 2 * Math.PI);
        Color base = RGB[colorIndex];
        int jr = clamp(base.getRed() + rnd.nextInt(31) - 15);
        int jg = clamp(base.getGreen() + rnd.nextInt(31) - 15);
        int jb = clamp(base.getBlue() + rnd.nextInt(31) - 15);
        g.setColor(new Color(jr, jg, jb));
        g.fill(at.createTransformedShape(s));
        g.setColor(new Color(jr / 2, jg / 2, jb / 2));
        g.setStroke(new BasicStroke(1f));
        g.draw(at.createTransformedShape(s));
        g.dispose();
        return new Sample(img, scale, cx / size, cy / size);
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    private void background(Graphics2D g, Random rnd) {
        int base = 90 + rnd.nextInt(120);
        if (rnd.nextBoolean()) {
            // noise: grey levels around a base with a faint colour cast
            for (int y = 0; y < size; y += 2) {
                for (int x = 0; x < size; x += 2) {
                    int v = clamp(base + (int) (rnd.nextGaussian() * 18));
                    g.setColor(new Color(v, clamp(v + 6), clamp(v - 6)));
                    g.fillRect(x, y, 2, 2);
                }
            }
        } else {
            // texture: soft stripes at a random angle
            g.setColor(new Color(base, base, base));
            g.fillRect(0, 0, size, size);
            AffineTransform old = g.getTransform();
            g.rotate(rnd.nextDouble() * Math.PI, size / 2.0, size / 2.0);
            int period = 6 + rnd.nextInt(8);
            g.setColor(new Color(clamp(base - 30), clamp(base - 25), clamp(base - 20)));
            for (int k = -size; k < 2 * size; k += period) {
                g.fill(new Rectangle2D.Double(k, -size, period / 2.0, 3 * size));
            }
            g.setTransform(old);
        }
    }

    private static Shape outline(String shape, double r) {
        switch (shape) {
            case "circle":
                return new Ellipse2D.Double(-r, -r, 2 * r, 2 * r);
            case "square":
                return new Rectangle2D.Double(-r * 0.8, -r * 0.8, 1.6 * r, 1.6 * r);
            case "triangle": {
                Path2D p = new Path2D.Double();
                for (int k = 0; k < 3; k++) {
                    double a = -Math.PI / 2 + k * 2 * Math.PI / 3;
                    if (k == 0) {
                        p.moveTo(r * Math.cos(a), r * Math.sin(a));
                    } else {
                        p.lineTo(r * Math.cos(a), r * Math.sin(a));
                    }
                }
                p.closePath();
                return p;
            }
            case "star": {
                Path2D p = new Path2D.Double();
                for (int k = 0; k < 10; k++) {
                    double a = -Math.PI / 2 + k * Math.PI / 5;
                    double rr = k % 2 == 0 ? r : r * 0.42;
                    if (k == 0) {
                        p.moveTo(rr * Math.cos(a), rr * Math.sin(a));
                    } else {
                        p.lineTo(rr * Math.cos(a), rr * Math.sin(a));
                    }
                }
                p.closePath();
                return p;
            }
            case "cross": {
                double t = r * 0.33;
                Path2D p = new Path2D.Double(new Rectangle2D.Double(-r, -t, 2 * r, 2 * t));
                p.append(new Rectangle2D.Double(-t, -r, 2 * t, 2 * r), false);
                return p;
            }
            default:
                throw new IllegalArgumentException(shape);
        }
    }

    private static String caption(Random rnd, Sample s, String shape, String color) {
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
