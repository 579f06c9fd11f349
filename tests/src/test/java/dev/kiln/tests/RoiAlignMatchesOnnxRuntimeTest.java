package dev.kiln.tests;


import dev.kiln.irhigh.Attr;
import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * RoiAlign with regions of every size (adaptive sampling gives 1 to 5 samples per bin side),
 * some partly outside the image, fixed and adaptive sampling, both coordinate modes and both
 * pooling modes: the native library and the reference evaluator give ONNX Runtime's outputs.
 */
class RoiAlignMatchesOnnxRuntimeTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1} sampling_ratio={2}")
    @CsvSource({"avg,half_pixel,0", "avg,output_half_pixel,2", "max,half_pixel,0", "max,output_half_pixel,3"})
    void matchesOnnxRuntime(String mode, String ctm, int ratio) throws Exception {
        String name = mode + "_" + ctm + "_" + ratio;
        Graph g = new Graph(name);
        g.opsets().put("", 16);
        Value x = new Value("x", DType.FLOAT32, new Shape(2, 3, 12, 10)), rois = new Value("rois", DType.FLOAT32, new Shape(6, 4));
        g.inputs().addAll(List.of(x, rois));
        g.values().put("x", x);
        g.values().put("rois", rois);
        g.initializers().put("batch", Tensor.ofLongs(new Shape(6), 0, 1, 1, 0, 1, 0));
        g.setNodes(List.of(new Node("roi", "RoiAlign", "", List.of("x", "rois", "batch"), List.of("y"),
                Map.of("mode", new Attr.Str(mode), "coordinate_transformation_mode", new Attr.Str(ctm), "sampling_ratio", new Attr.Int(ratio),
                        "output_height", new Attr.Int(3), "output_width", new Attr.Int(4), "spatial_scale", new Attr.Float(0.5f)), 16)));
        g.outputs().add("y");
        SplittableRandom rng = new SplittableRandom(13);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        inputs.put("x", Tensor.generate(DType.FLOAT32, x.shape(), i -> rng.nextDouble(-1, 1)));
        // Regions in input pixels (scaled by 0.5 onto the 12 x 10 map): tiny, large, partly outside.
        float[] boxes = {2, 3, 6, 9, 0, 0, 19, 23, -6, -4, 8, 10, 10, 12, 30, 28, 5, 5, 5.5f, 6, 1, 2, 16, 4};
        inputs.put("rois", Tensor.ofFloats(rois.shape(), boxes));
        OrtCheck.matches(dir, g, inputs, 1e-5, 1e-4);
    }
}
