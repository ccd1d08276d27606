#!/usr/bin/env python3
"""Expected VADER scores for the Rust golden tests (tests/sentiment/vader_golden.rs).

Pinned reference: vaderSentiment==3.3.2 on CPython 3.11 (3.12+ changes sum()
to compensated summation, which can move a 4th decimal).
    pip install vaderSentiment==3.3.2
    python make_vader_golden.py > vader_golden.json

The sentences were written for NeuraCRM (customer notes, e-mails, call
snippets); each VADER rule is exercised several times. Do not add texts from
the human-rated research corpora here.
"""
import json
import sys
from importlib.metadata import version

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

assert version("vaderSentiment") == "3.3.2", version("vaderSentiment")

CASES = {
    "plain lexicon": [
        "The customer was happy with the renewal.",
        "Support ticket closed, client satisfied.",
        "The invoice was wrong again and the buyer is angry.",
        "Quarterly business review scheduled for Tuesday.",
        "Great demo, the champion loved the reporting module.",
        "Onboarding was a disaster.",
    ],
    "boosters and dampeners": [
        "The pilot went very well.",
        "She was extremely helpful during the call.",
        "The integration is really slow.",
        "Pricing is somewhat high for their budget.",
        "The rep was kind of rude on the phone.",
        "Procurement was sort of helpful.",
        "The contract is kinda good.",
        "The CFO was barely interested.",
        "Our team did an absolutely fantastic job on the rollout.",
        "The new dashboard is slightly confusing.",
        "Their IT lead was just enough helpful to unblock us.",
        "He was hardly happy about the delay.",
    ],
    "capitalisation emphasis": [
        "The migration was GREAT, thanks team.",
        "This outage is TERRIBLE for our reputation.",
        "The new plan is VERY good for the sales team.",
        "WE LOVE THE PRODUCT",
        "The response time was SO slow today.",
        "NO problems with the install, Bob.",
        "Contract SIGNED and the client is HAPPY",
        "I am NOT happy with the billing portal.",
    ],
    "negation": [
        "The client is not happy with the quote.",
        "We didn't like the proposal.",
        "The demo wasn't bad at all.",
        "The prospect never replied, not good.",
        "Nobody isn't satisfied with the onboarding.",
        "It does not seem like a good fit for them.",
        "The account manager doesn't really care.",
        "Their legal team cannot approve a bad contract.",
        "I ain't impressed by the roadmap.",
        "The customer was rarely pleased with our response times.",
        "Despite good reviews, they churned.",
        "Nothing about this renewal is great.",
    ],
    "never so / never this": [
        "The handover has never been so smooth.",
        "Support has never been this good!",
        "Their buyer was never so happy with a vendor.",
        "Our NPS has never been this bad.",
        "The rollout never went so badly.",
    ],
    "without": [
        "Without a doubt, the best vendor we have worked with.",
        "Without doubt an excellent quarter.",
        "They signed without any problems.",
        "The upgrade finished without errors.",
        "Without a doubt, a great call.",
    ],
    "no": [
        "No problems reported after the upgrade.",
        "There was no good reason to cancel.",
        "No, the customer did not accept the offer.",
        "No worries, we will reschedule the demo.",
        "We had no issues or complaints this month.",
        "There was no love lost between the two teams.",
        "no",
        "The answer was no.",
    ],
    "but": [
        "The product is good, but the support is terrible.",
        "The price is high but the value is great.",
        "I like the team but the onboarding was slow and painful.",
        "Great call, but they are worried about security.",
        "But honestly, the renewal looks good.",
        "The rep was nice but the rep was also pushy.",
        "They liked the proposal, liked the price, but hated the terms.",
        "Good good but bad bad.",
    ],
    "least": [
        "At least the invoice was correct.",
        "This is the least helpful vendor we have used.",
        "Least helpful call this week.",
        "At the very least the demo was good.",
        "Their least favourite feature is the importer.",
        "He was least happy about the renewal price.",
    ],
    "idioms and special cases": [
        "The new forecasting feature is the bomb.",
        "Their CTO said our API is the shit.",
        "The sales deck is bad ass.",
        "Yeah right, they will sign this week.",
        "The pricing change was the kiss of death for the deal.",
        "The support experience was to die for.",
        "We met at the bus stop before the meeting.",
        "The customer success team is the bomb!",
        "Sales are kind of the bomb.",
        "The account is in the red this quarter.",
    ],
    "exclamation and question marks": [
        "Deal closed!",
        "Deal closed!!!",
        "Great job on the renewal!!!!!!",
        "Why is the integration still broken??",
        "Is the contract signed???",
        "Are you kidding me?????",
        "Terrible experience!!",
        "Can we schedule a call?",
        "Really?! This is awful!?",
        "Awesome?? Not sure about that.",
    ],
    "emoji and emoticons": [
        "Thanks for the quick fix 😀",
        "The renewal is done 🎉🎉",
        "Another outage today 😡",
        "Call went well :)",
        "Still waiting for the invoice :(",
        "Demo tomorrow 😊, fingers crossed",
        "The client replied 👍",
        "Pipeline looks 🔥",
        "Lost the deal 💔😢",
        "Meeting moved again :-(",
        "ok😁fine",
        "Great quarter! <3",
    ],
    "punctuation only and empty": [
        "",
        " ",
        "!!!",
        "???",
        "...",
        ":)",
        "-- --",
        "?!",
    ],
    "unicode and odd whitespace": [
        "Le client est très satisfait, great job",
        "Der Kunde ist unzufrieden.",
        "Very\u00a0good\u3000call with the team",
        "The ÜBER important customer is HAPPY",
        "Good\u001cnews from procurement",
        "Naïve pricing, terrible résumé of the terms",
        "顧客はとても満足しています good",
        "Σ good ΣΑΣ",
        "Tab\tseparated\tgood\tnews",
        "Line one is great.\nLine two is awful.",
    ],
    "longer notes": [
        "Call summary: the customer was frustrated about the delayed shipment, "
        "but after we offered a discount they were happy and agreed to renew.",
        "Email from Dana: We are NOT happy with the service. The last three tickets "
        "were closed without a fix!!! Please escalate.",
        "Voice call transcript: Hi, yes, I wanted to say thanks, the new reporting "
        "is really helpful and the team loves it. No complaints at all.",
        "Note: prospect is kind of interested, budget approved, decision maker is "
        "skeptical but open. Follow up next week?",
        "Churn risk: customer says the product is buggy, slow, and expensive. "
        "They never had such a bad experience with a vendor.",
        "Lead replied: 'Sounds great, let's talk Thursday.' :D",
    ],
}


def main():
    an = SentimentIntensityAnalyzer()
    out = []
    for rule, texts in CASES.items():
        for text in texts:
            s = an.polarity_scores(text)
            out.append({
                "rule": rule,
                "text": text,
                "expected": f"{s['neg']:.4f},{s['neu']:.4f},{s['pos']:.4f},{s['compound']:.4f}",
                "compound": repr(s["compound"]),
            })
    json.dump({"vaderSentiment": version("vaderSentiment"), "python": sys.version.split()[0],
               "cases": out}, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
