namespace App.IntegrationTests.Deploy;

/// <summary>The condition evaluator the canary test judges with, on the forms and edge cases the template relies on.</summary>
public sealed class AnalysisConditionTests
{
    private const string Success = "len(result) == 1 && result[0] <= 0.005";
    private const string Failure = "len(result) == 1 && result[0] > 0.005";

    [Theory]
    [InlineData(new double[] { 0.001 }, true, false)]
    [InlineData(new double[] { 0.005 }, true, false)]
    [InlineData(new double[] { 0.05 }, false, true)]
    [InlineData(new double[] { }, false, false)]          // too little traffic: no series, neither holds
    [InlineData(new double[] { double.NaN }, false, false)] // 0/0: neither holds
    [InlineData(new double[] { 0.001, 0.5 }, false, false)] // two series: the query is not what the template meant
    public void TheTemplatesConditionsJudgeTheQuerysAnswer(double[] result, bool success, bool failure)
    {
        Assert.Equal(success, AnalysisCondition.Evaluate(Success, result));
        Assert.Equal(failure, AnalysisCondition.Evaluate(Failure, result));
    }

    [Theory]
    [InlineData("result[0] > 1 || !(result[0] >= 0.5)", new double[] { 0.2 }, true)]
    [InlineData("isNaN(result[0]) || result[0] < 0.1", new double[] { double.NaN }, true)]
    [InlineData("len(result) > 0 && (result[0] != 2 && result[0] < 3e0)", new double[] { 2.5 }, true)]
    [InlineData("len(result) == 0 || result[0] < 0", new double[] { }, true)]
    public void OperatorsPrecedenceAndShortCircuits(string condition, double[] result, bool expected) =>
        Assert.Equal(expected, AnalysisCondition.Evaluate(condition, result));

    [Theory]
    [InlineData("result[0] <= 0.005", new double[] { })]        // indexing an empty result is an error, as in expr
    [InlineData("result[0] <= 0.005 and true", new double[] { 1 })] // outside the subset: refused, not guessed
    [InlineData("default(result[0], 0) < 1", new double[] { 1 })]
    [InlineData("result[0]", new double[] { 1 })]               // not a boolean
    public void WhatItCannotEvaluateIsAnError(string condition, double[] result) =>
        Assert.Throws<FormatException>(() => AnalysisCondition.Evaluate(condition, result));
}
