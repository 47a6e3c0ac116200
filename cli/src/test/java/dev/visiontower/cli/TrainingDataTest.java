package dev.visiontower.cli;

import dev.visiontower.api.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Caption files as users write them. */
class TrainingDataTest {
    @TempDir
    Path tmp;

    private void image(String name) throws IOException {
        ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), "png", tmp.resolve(name).toFile());
    }

    @Test
    void csvWithQuotesCommasAndAHeader() throws IOException {
        image("a.png");
        image("b,1.png");
        image("c.png");
        Files.writeString(tmp.resolve("captions.csv"), "image,text\n"
                + "a.png,\"a red circle, small\"\n"
                + "\"b,1.png\",a blue square\n"
                + "c.png,\"she said \"\"hi\"\"\"\n");
        TrainingData d = TrainingData.load(tmp, 1);
        List<dev.visiontower.api.train.TrainingRun.Example> all = new ArrayList<>(d.train);
        all.addAll(d.heldout);
        assertEquals(3, all.size());
        Set<String> texts = new TreeSet<>();
        all.forEach(e -> texts.add(e.text()));
        assertEquals(new TreeSet<>(List.of("a red circle, small", "a blue square", "she said \"hi\"")), texts);
        assertTrue(all.stream().anyMatch(e -> e.image().getFileName().toString().equals("b,1.png")));
    }

    @Test
    void csvWithoutTheHeaderIsRefusedNotMisread() throws IOException {
        image("a.png");
        Files.writeString(tmp.resolve("captions.csv"), "a.png,a red circle\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> TrainingData.load(tmp, 1));
        assertTrue(e.getMessage().contains("image and text"), e.getMessage());
    }

    @Test
    void missingImageIsNamed() throws IOException {
        Files.writeString(tmp.resolve("captions.csv"), "image,text\nnope.png,a red circle\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> TrainingData.load(tmp, 1));
        assertTrue(e.getMessage().contains("nope.png"), e.getMessage());
    }
}
