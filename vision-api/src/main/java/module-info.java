/**
 * The visiontower API: tensors and operations ({@link dev.visiontower.api.Ops}), backend selection
 * ({@link dev.visiontower.api.Backends}), the shared ViT container ({@link dev.visiontower.api.nn.VisionTransformer}),
 * checkpoint reading ({@link dev.visiontower.api.checkpoint}) and preprocessing ({@link dev.visiontower.api.image}).
 *
 * <h2>Backend selection</h2>
 * Backends are {@link dev.visiontower.api.spi.BackendProvider} services. {@link dev.visiontower.api.Backends#select}
 * takes, in this order: the name passed explicitly; the system property {@code visiontower.backend}; the environment
 * variable {@code VISIONTOWER_BACKEND}; the available provider with the highest priority. A named backend that is
 * unavailable fails with a message listing every provider and why it is or is not available; no other backend is
 * substituted.
 *
 * <h2>System properties</h2>
 * <ul>
 *   <li>{@code visiontower.backend}: backend name used when none is passed explicitly.</li>
 * </ul>
 * Backend modules document their own properties in their module Javadoc.
 *
 * <h2>Optional modules</h2>
 * {@code java.desktop} is required statically: image decoding ({@link dev.visiontower.api.image.ImageDecoding}) needs
 * it at run time, everything else works without it (headless or trimmed runtimes). Decoding also uses the TwelveMonkeys
 * ImageIO modules ({@code com.twelvemonkeys.imageio.*}, dependencies of this artifact): on a module path, resolve them
 * with {@code --add-modules java.desktop,com.twelvemonkeys.imageio.jpeg} (automatic modules bring the rest) or
 * {@code ALL-MODULE-PATH}.
 */
module dev.visiontower.api {
    requires transitive com.fasterxml.jackson.databind;
    requires static java.desktop;
    // image decoding: EXIF and JPEG segment reading; the plugins (JPEG, WebP, TIFF) are found by ImageIO as services
    requires static com.twelvemonkeys.imageio.metadata;

    exports dev.visiontower.api;
    exports dev.visiontower.api.spi;
    exports dev.visiontower.api.nn;
    exports dev.visiontower.api.checkpoint;
    exports dev.visiontower.api.image;
    exports dev.visiontower.api.text;
    exports dev.visiontower.api.train;

    uses dev.visiontower.api.spi.BackendProvider;
    uses dev.visiontower.api.spi.ModelFamilyProvider;
}
