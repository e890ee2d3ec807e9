using System.Text.Json;
using CouponBooks.Books;
using CouponBooks.Hosting;
using CouponBooks.Storage;
using Microsoft.Extensions.Logging;

namespace CouponBooks.Jobs;

/// <summary>A job as stored (Orleans grain storage, System.Text.Json).</summary>
public sealed class JobRecord
{
    public JobSpec? Spec { get; set; }

    public JobState State { get; set; }

    public long Processed { get; set; }

    public string? ResultJson { get; set; }

    public JobError? Error { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public int Attempts { get; set; }
}

/// <summary>
/// Runs one long job in the background of its activation and keeps its progress. A reminder brings the job back
/// on another silo when the one running it dies; the work is idempotent (its batch record commits with it), so a
/// resumed job either finds its work committed or does it again from the start.
/// </summary>
internal sealed class JobGrain(
    [PersistentState(StorageNames.Job, StorageNames.Store)] IPersistentState<JobRecord> job,
    CodeGeneration generation,
    CodeImport import,
    Pools.PoolStore distribution,
    TimeProvider clock,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IRemindable
{
    private const string WatchdogReminder = "resume-if-orphaned";
    private const int MaxAttempts = 3;
    private static readonly TimeSpan ResumeAfter = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _deactivating = new();
    private long _processed;
    private Task? _running;
    private IGrainTimer? _resume;

    private Guid Id => this.GetPrimaryKey();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (job.RecordExists && job.State.State is JobState.Running or JobState.Queued)
        {
            Run();
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _deactivating.CancelAsync();
        if (_running is { } running)
        {
            await running.WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Current);
        }
    }

    public async Task<bool> StartAsync(JobSpec spec)
    {
        if (job.RecordExists)
        {
            var first = job.State.Spec?.RequestHash;
            return first is null || spec.RequestHash is null || first.AsSpan().SequenceEqual(spec.RequestHash);
        }

        job.State = new JobRecord { Spec = spec, State = JobState.Running, CreatedAt = clock.GetUtcNow() };
        await job.WriteStateAsync();
        await this.RegisterOrUpdateReminder(WatchdogReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        Run();
        return true;
    }

    public Task<JobView?> GetAsync()
    {
        if (!job.RecordExists || job.State.Spec is not { } spec)
        {
            return Task.FromResult<JobView?>(null);
        }

        var record = job.State;
        long processed = record.State == JobState.Running ? Interlocked.Read(ref _processed) : record.Processed;
        return Task.FromResult<JobView?>(new JobView(Id, spec.Kind, record.State, spec.Total, processed, record.ResultJson, record.Error, record.CreatedAt, record.FinishedAt));
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!job.RecordExists || job.State.State is JobState.Succeeded or JobState.Failed)
        {
            await UnregisterWatchdogAsync();
        }
        else if (_running is null)
        {
            Run();
        }
    }

    private void Run()
    {
        if (_running is null)
        {
            this.DelayDeactivation(TimeSpan.FromHours(2));
            _running = RunAsync();
        }
    }

    private async Task RunAsync()
    {
        var record = job.State;
        var spec = record.Spec!;
        record.Attempts++;
        var progress = new LiveProgress(this, spec.Kind);
        SiloMetrics.JobStarted(spec.Kind);
        try
        {
            if (record.Attempts > MaxAttempts)
            {
                throw new JobRefusedException(new JobError(null, $"The job was interrupted {MaxAttempts} times; giving up."));
            }

            await job.WriteStateAsync();
            record.ResultJson = spec.Kind switch
            {
                JobKind.GenerateCodes => JsonSerializer.Serialize(
                    new { generated = await generation.RunAsync(Id, spec.BookId, spec.Pattern!, spec.Total, progress, _deactivating.Token) },
                    JsonSerializerOptions.Web),
                JobKind.ImportCodes => JsonSerializer.Serialize(
                    await import.RunAsync(Id, spec.UploadId!.Value, spec.BookId, spec.SkipInvalid, progress, _deactivating.Token),
                    JsonSerializerOptions.Web),
                JobKind.Distribute => JsonSerializer.Serialize(await DistributeAsync(spec), JsonSerializerOptions.Web),
                _ => throw new JobRefusedException(new JobError(null, $"Unknown job kind {spec.Kind}.")),
            };
            record.State = JobState.Succeeded;
            record.Processed = spec.Total;
            progress.Report(spec.Total);
        }
        catch (OperationCanceledException) when (_deactivating.IsCancellationRequested)
        {
            // The silo is shutting down: the transaction rolled back; the watchdog resumes the job elsewhere.
            logger.LogInformation("Job {JobId} interrupted by deactivation; it will resume", Id);
            SiloMetrics.JobEnded(spec.Kind, null);
            _running = null;
            return;
        }
        catch (JobRefusedException refused)
        {
            record.State = JobState.Failed;
            record.Error = refused.Error;
        }
        catch (Exception ex) when (IsInterruption(ex) && record.Attempts < MaxAttempts)
        {
            // A silo or the database out of reach for a moment (the book's silo died under a distribution, say): the job
            // stays running and runs again shortly, doing only what is left (its work is keyed by the job's id).
            logger.LogWarning(ex, "Job {JobId} ({Kind}) interrupted (attempt {Attempt} of {Max}); it resumes in {Delay}", Id, spec.Kind, record.Attempts, MaxAttempts, ResumeAfter);
            SiloMetrics.JobEnded(spec.Kind, null);
            _running = null;
            _resume?.Dispose();
            _resume = this.RegisterGrainTimer(() => { Run(); return Task.CompletedTask; }, new GrainTimerCreationOptions(ResumeAfter, Timeout.InfiniteTimeSpan));
            return;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Job {JobId} ({Kind}) failed", Id, spec.Kind);
            record.State = JobState.Failed;
            record.Error = new JobError(null, $"The job failed: {ex.Message}");
        }

        record.FinishedAt = clock.GetUtcNow();
        SiloMetrics.JobEnded(spec.Kind, record.State);
        await job.WriteStateAsync();
        await UnregisterWatchdogAsync();
        _running = null;
    }

    private async Task<Pools.DistributionResult> DistributeAsync(JobSpec spec)
    {
        var members = await distribution.MembersAsync(spec.PoolId!.Value);
        var outcome = await GrainFactory.GetGrain<IBookGrain>(spec.BookId)
            .DistributeAsync(members, spec.Distribution!, dryRun: false, Id, spec.ActorId ?? Guid.Empty);
        if (outcome.Refusal is { } refusal)
        {
            throw new JobRefusedException(new JobError(refusal.Code, refusal.Detail));
        }

        return outcome.Value!;
    }

    /// <summary>Faults of reach, not of the job: a silo gone or refusing, a call unanswered, the database briefly unavailable.</summary>
    private static bool IsInterruption(Exception exception) => exception switch
    {
        SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or StorageUnavailableException => true,
        Npgsql.NpgsqlException { IsTransient: true } => true,
        _ => exception.InnerException is { } inner && IsInterruption(inner),
    };

    private async Task UnregisterWatchdogAsync()
    {
        if (await this.GetReminder(WatchdogReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>Keeps the processed count for GET /jobs/{id} and feeds what was added since the last report to the metrics.</summary>
    private sealed class LiveProgress(JobGrain grain, JobKind kind) : IProgress<long>
    {
        private long _reported;

        public void Report(long value)
        {
            Interlocked.Exchange(ref grain._processed, value);
            // Reports of one run come one after another (the copy loop, then the grain once it finished).
            if (value > _reported)
            {
                SiloMetrics.JobProgressed(kind, value - _reported);
                _reported = value;
            }
        }
    }
}
