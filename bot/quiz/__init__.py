"""Quizzes: personal runs, timed channel rounds, scoring and leaderboards (no Discord here)."""

from bot.quiz.personal import PersonalQuiz
from bot.quiz.rounds import ChannelRound
from bot.quiz.service import QuizService

__all__ = ["ChannelRound", "PersonalQuiz", "QuizService"]
