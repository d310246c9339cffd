// Validates PDF files against veraPDF rule sets: `java Validate.java <flavour> <file>...` (flavours as veraPDF
// names them: 3b = PDF/A-3b, ua1 = PDF/UA-1). Prints each failed rule (id, clause, message, where) and
// "<flavour> <file>: N failed rules"; exits 1 when any rule fails, 2 on a usage or parse error.
import java.io.FileInputStream;
import java.io.InputStream;
import java.util.Map;
import java.util.TreeMap;
import org.verapdf.core.ValidationException;
import org.verapdf.gf.foundry.VeraGreenfieldFoundryProvider;
import org.verapdf.pdfa.Foundries;
import org.verapdf.pdfa.PDFAParser;
import org.verapdf.pdfa.PDFAValidator;
import org.verapdf.pdfa.flavours.PDFAFlavour;
import org.verapdf.pdfa.results.TestAssertion;
import org.verapdf.pdfa.results.ValidationResult;

public class Validate {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Validate <flavour: 3b|ua1|...> <file.pdf>...");
            System.exit(2);
        }
        VeraGreenfieldFoundryProvider.initialise();
        PDFAFlavour flavour = PDFAFlavour.byFlavourId(args[0]);
        if (flavour == PDFAFlavour.NO_FLAVOUR) {
            System.err.println("unknown flavour: " + args[0]);
            System.exit(2);
        }
        int failed = 0;
        for (int i = 1; i < args.length; i++) {
            try (InputStream in = new FileInputStream(args[i]);
                 PDFAParser parser = Foundries.defaultInstance().createParser(in, flavour);
                 PDFAValidator validator = Foundries.defaultInstance().createValidator(flavour, false)) {
                ValidationResult result = validator.validate(parser);
                Map<String, String> rules = new TreeMap<>();
                for (TestAssertion a : result.getTestAssertions()) {
                    if (a.getStatus() == TestAssertion.Status.FAILED) {
                        rules.putIfAbsent(a.getRuleId().getClause() + "-" + a.getRuleId().getTestNumber(),
                            a.getMessage() + " [" + a.getLocation().getContext() + "]");
                    }
                }
                rules.forEach((rule, message) -> System.out.println("FAILED " + rule + ": " + message));
                System.out.println(args[0] + " " + args[i] + ": " + rules.size() + " failed rules"
                    + (result.isCompliant() ? " (compliant)" : ""));
                failed += rules.size();
            } catch (ValidationException e) {
                System.err.println(args[i] + ": cannot be validated: " + e.getMessage());
                System.exit(2);
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
