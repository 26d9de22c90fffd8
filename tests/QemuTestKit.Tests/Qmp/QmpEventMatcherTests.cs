using System.Text.Json;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Qmp;

/// <summary>The seed's <c>event_match</c> examples and edges.</summary>
public sealed class QmpEventMatcherTests
{
    [Theory]
    [InlineData("""{"foo": {"bar": 1}}""", null, true)]
    [InlineData("""{"foo": {"bar": 1}}""", """{"foo": null}""", true)]
    [InlineData("""{"foo": 5}""", """{"foo": null}""", true)]
    [InlineData("""{"foo": {"bar": 1}}""", """{"foo": {"abc": null}}""", false)]
    [InlineData("""{"foo": {"bar": 1, "rab": 2}}""", """{"foo": {"rab": 2}}""", true)]
    [InlineData("""{"foo": {"bar": 1, "rab": 2}}""", """{"foo": {"rab": 3}}""", false)]
    [InlineData("""{"foo": 1}""", """{"bar": null}""", false)]
    [InlineData("""{"foo": "x"}""", """{"foo": {"a": 1}}""", false)]
    [InlineData("""{"foo": [1, 2]}""", """{"foo": [1, 2]}""", true)]
    [InlineData("""{"foo": [1, 2]}""", """{"foo": [2, 1]}""", false)]
    [InlineData("""{"foo": 1.0}""", """{"foo": 1.0}""", true)]
    [InlineData("""{"foo": "a"}""", """{"foo": "b"}""", false)]
    [InlineData("""{"a": {"b": {"c": true, "d": 1}}}""", """{"a": {"b": {"c": true}}}""", true)]
    [InlineData("""{}""", """{}""", true)]
    public void Matches_like_the_seed(string value, string? match, bool expected)
    {
        JsonElement v = JsonDocument.Parse(value).RootElement;
        JsonElement? m = match is null ? null : JsonDocument.Parse(match).RootElement;
        Assert.Equal(expected, QmpEventMatcher.Matches(v, m));
    }
}
