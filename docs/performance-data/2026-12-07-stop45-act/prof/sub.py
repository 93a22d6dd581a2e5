# sub.py <perf script output>...: stop 45 act: the samples of a random-pair run by the new conversation's parts (each stack to the first part one of its frames matches).
import sys,re,collections
import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../benchmarks/scripts'))
from fold import load
subs=[("placement (PlacementService, its Polly pipeline)",r"Placement|Polly"),("catalog GetOrCreateActivation",r"Catalog::GetOrCreateActivation"),
("directory/locator register",r"GrainDirectory|GrainLocator|LocalGrainDirectory|ActivationDirectory"),("working set monitor",r"ActivationWorkingSet"),
("grain construction (activator, DI)",r"GrainActivator|ActivatorUtilities|ConversationGrain::\.ctor|CallSite|GrainContextActivator"),
("ActivationData.ActivateAsync (rest)",r"ActivationData(::|\+<)(\.ctor|ActivateAsync|CallActivateAsync|<ActivateAsync)"),
("OnActivateAsync", r"ConversationGrain.*OnActivateAsync|GetConversationAsync"),
("first-send reads", r"TryCreateDirectAsync|RefreshRelationAsync|RelationReader|GetPairFlagsAsync|SqliteAccountStore.*GetUserAsync"),
("deactivation", r"Deactivat|ActivationCollector|IdleDirectConversations|Unregister"),
]
for f in sys.argv[1:]:
    st=load(f); c=collections.Counter()
    for s in st:
        for n,rx in subs:
            if any(re.search(rx,x) for x in s): c[n]+=1; break
    print(f, len(st))
    for n,_ in subs: print(f"  {n}: {c[n]} = {100*c[n]/len(st):.2f} %")
