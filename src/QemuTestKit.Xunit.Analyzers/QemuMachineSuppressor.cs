using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace QemuTestKit.Xunit.Analyzers;

/// <summary>
/// Silences two xunit analyzer warnings that are wrong for QemuTestKit test classes, and nothing else:
/// <list type="bullet">
/// <item><c>xUnit1041</c> on a <c>QemuVm</c> constructor parameter of a class marked <c>[QemuMachine]</c>: the fixture
/// comes from a collection definition inside the QemuTestKit.Xunit assembly, which the analyzer does not look into.</item>
/// <item><c>xUnit1051</c> on calls into the kit's VM types (<c>QemuVm</c>, <c>QemuMachine</c>, <c>QemuConsole</c>,
/// <c>QmpClient</c>, <c>Snapshot</c>) made without a token: inside a test those calls follow
/// <c>TestContext.Current.CancellationToken</c> by themselves, which is what the warning asks for.</item>
/// </list>
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class QemuMachineSuppressor : DiagnosticSuppressor
{
    /// <summary>xUnit1041 on a <c>QemuVm</c> parameter of a <c>[QemuMachine]</c> class.</summary>
    public static readonly SuppressionDescriptor FixtureFromQemuMachine = new(
        id: "QTKSP1041",
        suppressedDiagnosticId: "xUnit1041",
        justification: "[QemuMachine] supplies the QemuVm fixture through a collection definition in QemuTestKit.Xunit.");

    /// <summary>xUnit1051 on a call into a kit type that follows the current test's cancellation token by itself.</summary>
    public static readonly SuppressionDescriptor KitFollowsTestToken = new(
        id: "QTKSP1051",
        suppressedDiagnosticId: "xUnit1051",
        justification: "QemuTestKit's VM calls use TestContext.Current.CancellationToken when no token is passed.");

    // The types whose calls fall back to the current test's token (QemuVm installs that fallback on the machine it
    // boots); other kit types (profiles, snapshots, the MSBuild side) do not, so the warning stays for them.
    private static readonly ImmutableHashSet<string> s_followingTypes = ImmutableHashSet.Create(
        "QemuTestKit.Xunit.QemuVm",
        "QemuTestKit.QemuMachine",
        "QemuTestKit.QemuConsole",
        "QemuTestKit.Qmp.QmpClient",
        "QemuTestKit.Xunit.Snapshot");

    private const string QemuVmType = "QemuTestKit.Xunit.QemuVm";

    private const string QemuMachineAttributeType = "QemuTestKit.Xunit.QemuMachineAttribute";

    /// <inheritdoc/>
    public override ImmutableArray<SuppressionDescriptor> SupportedSuppressions { get; } =
        ImmutableArray.Create(FixtureFromQemuMachine, KitFollowsTestToken);

    /// <inheritdoc/>
    public override void ReportSuppressions(SuppressionAnalysisContext context)
    {
        foreach (Diagnostic diagnostic in context.ReportedDiagnostics)
        {
            SyntaxTree? tree = diagnostic.Location.SourceTree;
            if (tree is null)
            {
                continue;
            }

            SyntaxNode node = tree.GetRoot(context.CancellationToken).FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            SemanticModel model = context.GetSemanticModel(tree);
            if (diagnostic.Id == FixtureFromQemuMachine.SuppressedDiagnosticId && IsQemuVmOfQemuMachineClass(node, model, context))
            {
                context.ReportSuppression(Suppression.Create(FixtureFromQemuMachine, diagnostic));
            }
            else if (diagnostic.Id == KitFollowsTestToken.SuppressedDiagnosticId && IsCallIntoFollowingType(node, model, context))
            {
                context.ReportSuppression(Suppression.Create(KitFollowsTestToken, diagnostic));
            }
        }
    }

    private static bool IsQemuVmOfQemuMachineClass(SyntaxNode node, SemanticModel model, SuppressionAnalysisContext context)
    {
        ParameterSyntax? parameter = node.AncestorsAndSelf().OfType<ParameterSyntax>().FirstOrDefault();
        if (parameter is null || model.GetDeclaredSymbol(parameter, context.CancellationToken) is not IParameterSymbol symbol
            || symbol.Type.ToDisplayString() != QemuVmType)
        {
            return false;
        }

        // The attribute is inherited ([AttributeUsage(Inherited = true)]): an abstract base with the tests and one
        // derived class per architecture carrying [QemuMachine("tiny-…")] is the documented pattern.
        for (INamedTypeSymbol? type = symbol.ContainingType; type is not null; type = type.BaseType)
        {
            if (type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == QemuMachineAttributeType))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsCallIntoFollowingType(SyntaxNode node, SemanticModel model, SuppressionAnalysisContext context)
    {
        InvocationExpressionSyntax? invocation = node.AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
        return invocation is not null
            && model.GetSymbolInfo(invocation, context.CancellationToken).Symbol is IMethodSymbol method
            && s_followingTypes.Contains(method.ContainingType.OriginalDefinition.ToDisplayString());
    }
}
