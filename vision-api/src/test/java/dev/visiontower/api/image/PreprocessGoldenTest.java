package dev.visiontower.api.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.Golden;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Preprocessing against transformers' PIL-backend image processors and open_clip (Pillow 12.3). */
class PreprocessGoldenTest {
    /** One 8-bit level after normalisation: 1/255 divided by the smallest CLIP std. */
    static final double ONE_LEVEL = 1.0 / 255 / 0.26130258;

    static Path dir;
    static Safetensors io;

    @BeforeAll
    static void open() {
        dir = Golden.dir("preprocess");
        io = Safetensors.open(dir.resolve("io.safetensors"));
    }

    @AfterAll
    static void close() {
        io.close();
    }

    static RgbImage decoded(String name) {
        return RgbImage.of(io.read(name + ".decoded_rgb"));
    }

    static double maxDiff(HostTensor a, HostTensor b) {
        assertArrayEquals(b.shape(), a.shape());
        return Tolerance.FLOAT32.compare(a, b).maxAbs();
    }

    @ParameterizedTest
    @ValueSource(strings = {"img_gradient", "img_shapes", "img_noise"})
    void clipTransformMatchesHuggingFace(String img) {
        HostTensor got = ImageTransform.clip(224).apply(decoded(img));
        double d = maxDiff(got, io.read(img + ".clip.pixel_values"));
        System.out.printf("%s clip: max |diff| %.3g (one level = %.4f)%n", img, d, ONE_LEVEL);
        assertTrue(d < 1e-5, img + ": max diff " + d + " (PIL resize should be reproduced exactly)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"img_gradient", "img_shapes", "img_noise"})
    void huggingFaceConfigsAreRead(String img) throws IOException {
        ObjectMapper m = new ObjectMapper();
        ImageTransform clip = ImageTransform.fromHuggingFace(
                m.readTree(dir.resolve("clip_preprocessor_config.json").toFile()), "clip");
        assertEquals(ImageTransform.clip(224), clip);
        ImageTransform siglip = ImageTransform.fromHuggingFace(
                m.readTree(dir.resolve("siglip_preprocessor_config.json").toFile()), "siglip");
        double d = maxDiff(siglip.apply(decoded(img)), io.read(img + ".siglip.pixel_values"));
        assertTrue(d < 1e-5, img + " siglip: max diff " + d);
    }

    @Test
    void openClipCropRounding() {
        HostTensor got = ImageTransform.openClip(224, ImageTransform.CLIP_MEAN, ImageTransform.CLIP_STD)
                .apply(decoded("img_shapes"));
        double d = maxDiff(got, io.read("img_shapes.openclip.pixel_values"));
        assertTrue(d < 1e-5, "open_clip transform: max diff " + d);
    }

    @ParameterizedTest
    @ValueSource(strings = {"img_gradient.png", "img_shapes.png"})
    void pngDecodesExactly(String file) {
        RgbImage img = ImageDecoding.read(dir.resolve(file));
        String name = file.substring(0, file.indexOf('.'));
        assertArrayEquals(io.read(name + ".decoded_rgb").bytes(), img.rgb());
    }

    @Test
    void jpegDecodesWithinOneLevelAndPreprocessesWithinOneLevel() {
        RgbImage img = ImageDecoding.read(dir.resolve("img_noise.jpg"));
        byte[] ref = io.read("img_noise.decoded_rgb").bytes();
        int worst = 0;
        long differing = 0;
        for (int i = 0; i < ref.length; i++) {
            int d = Math.abs((ref[i] & 0xFF) - (img.rgb()[i] & 0xFF));
            worst = Math.max(worst, d);
            differing += d > 0 ? 1 : 0;
        }
        double pipeline = maxDiff(ImageTransform.clip(224).apply(img), io.read("img_noise.clip.pixel_values"));
        System.out.printf("img_noise.jpg: decoder max |diff| %d levels, %d of %d samples differ; after the CLIP "
                + "transform max |diff| %.4f (%.2f levels)%n", worst, differing, ref.length, pipeline,
                pipeline / ONE_LEVEL);
        assertTrue(pipeline <= ONE_LEVEL + 1e-6, "CLIP transform of the decoded JPEG: " + pipeline / ONE_LEVEL
                + " levels");
    }
}
