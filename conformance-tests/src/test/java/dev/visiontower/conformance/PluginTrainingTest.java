package dev.visiontower.conformance;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.Models;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.train.NewModel;
import dev.visiontower.api.train.TrainingRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example third-party family trains through {@code vision-api} alone: a new model from its recipe, a run of
 * {@link TrainingRun}, and the result loads as a {@link DualEncoder} that tells the colours apart. The family has no
 * load or training code of its own.
 */
class PluginTrainingTest {
    private static final String[] COLOURS = {"red", "green", "blue"};
    private static final Color[] RGB = {new Color(220, 30, 30), new Color(30, 200, 40), new Color(40, 50, 230)};

    @TempDir
    Path tmp;

    private List<TrainingRun.Example> pictures(String split, int n, long seed) throws IOException {
        Path dir = tmp.resolve(split);
        Files.createDirectories(dir);
        Random rnd = new Random(seed);
        List<TrainingRun.Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int c = i % COLOURS.length;
            BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setColor(new Color(rnd.nextInt(60) + 100, rnd.nextInt(60) + 100, rnd.nextInt(60) + 100));
            g.fillRect(0, 0, 32, 32);
            g.setColor(RGB[c]);
            int s = 10 + rnd.nextInt(14);
            g.fillRect(rnd.nextInt(32 - s), rnd.nextInt(32 - s), s, s);
            g.dispose();
            Path f = dir.resolve(i + ".png");
            ImageIO.write(img, "png", f.toFile());
            out.add(new TrainingRun.Example(f, "a " + COLOURS[c] + " square", COLOURS[c] + " square"));
        }
        return out;
    }

    @Test
    void theExampleFamilyTrainsFromScratchAndClassifies() throws IOException {
        List<TrainingRun.Example> train = pictures("train", 192, 1);
        List<TrainingRun.Example> heldout = pictures("heldout", 24, 2);
        Path out = tmp.resolve("model");
        var family = Models.family("meanpool-vit");
        List<String> captions = train.stream().map(TrainingRun.Example::text).toList();
        NewModel.create(family, out, NewModel.recipe(family).preset("meanpool-tiny", 8), captions, 5);
        List<TrainingRun.Epoch> epochs = new ArrayList<>();
        try (Backend b = Backends.open("libtorch", Device.CPU)) {
            TrainingRun.run(b, out, false, train, heldout, new TrainingRun.Settings(10, 16, 3e-3, 10, 0.0, 1.0, 5,
                    DType.FLOAT32, false), out, new TrainingRun.Listener() {
                        @Override
                        public void epoch(TrainingRun.Epoch e) {
                            epochs.add(e);
                        }
                    });
            epochs.forEach(System.out::println);
            assertEquals(10, epochs.size());
            assertTrue(epochs.get(9).trainLoss() < epochs.get(0).trainLoss(), "the loss falls: " + epochs);
            assertTrue(epochs.get(9).zeroShotAccuracy() >= 0.9, "zero-shot on held-out pictures: " + epochs);
            assertTrue(Files.isRegularFile(out.resolve("vocab.txt")), "the family's own tokenizer file is kept");
            try (DualEncoder model = DualEncoder.open(out, b)) {
                assertEquals("meanpool-vit", model.family());
                var ranked = model.classify(model.preprocess(List.of(ImageDecoding.read(heldout.get(2).image()))),
                        List.of("red square", "green square", "blue square"), "a {}", 3);
                assertEquals("blue square", ranked.get(0).get(0).label(), ranked.toString());
            }
        }
    }
}
