package dev.visiontower.cli;

import dev.visiontower.api.image.ImageLoadOptions;
import picocli.CommandLine.Option;

/** How the commands that read image files decode them. */
final class ImageOptions {
    @Option(names = "--no-exif-transpose",
            description = "Keep pixels as stored instead of turning them upright by their EXIF orientation (open_clip "
                    + "and timm do not rotate; Hugging Face's load_image, the default here, does).")
    boolean noExifTranspose;

    ImageLoadOptions load() {
        return noExifTranspose ? ImageLoadOptions.STORED_ORIENTATION : ImageLoadOptions.HUGGING_FACE;
    }
}
